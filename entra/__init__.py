"""Identity plumbing shared by the bot, Graph sync and the API: msal clients and their
credentials, the OpenID signing-key cache, and the clock every component stamps times with.

It imports nothing of ours, so `bot` and `graph_sync` (which never import each other) can both
use it, and `juno` too.
"""
