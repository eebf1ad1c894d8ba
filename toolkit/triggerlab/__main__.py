import sys

from triggerlab.cli import main

sys.exit(main())
