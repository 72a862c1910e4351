"""``python -m mlcourse.checks [ROOT]``: regenerate ``mlcourse/checks/<assignment>.py`` from solutions/."""

import sys
from pathlib import Path

from mlcourse.checks import generate

root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
for path, text in generate(root).items():
    path.write_text(text, encoding="utf-8")
    print("wrote", path)
