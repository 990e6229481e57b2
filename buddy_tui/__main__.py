"""Let ``python -m buddy_tui`` behave exactly like the ``buddy-tui`` command."""

from buddy_tui.cli import main

raise SystemExit(main())
