"""``python -m penalized``: the command line."""

import sys

try:  # Ctrl-C while the (heavy) imports run: one line and 130, as later
    from .app.cli import main
except KeyboardInterrupt:
    print("penalized: error: interrupted", file=sys.stderr)
    sys.exit(130)

if __name__ == "__main__":
    main()
