"""Entry point of the embedded server's child process (see `storage.embedded.EmbeddedProcess`)."""

import sys

from storage.embedded import main

if __name__ == "__main__":
    sys.exit(main())
