"""``python -m nvpanoptix3d <action> -e spec.yaml`` is the same as ``python -m nvpanoptix3d.entrypoint``."""

import sys

from nvpanoptix3d.entrypoint import main

sys.exit(main())
