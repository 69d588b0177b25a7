"""`python -m bot ...` is `tutor ...`."""

from bot.cli import main

raise SystemExit(main())
