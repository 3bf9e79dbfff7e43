"""Card builders: pure functions from data to Adaptive Card dicts (bot.cards.blocks)."""
