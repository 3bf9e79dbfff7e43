"""Teams surface: the Microsoft 365 Agents SDK bot (see DESIGN.md §6)."""
