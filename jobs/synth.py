"""spark-submit entry point: `clout synth`. All logic lives in lib/clout."""

import sys

from clout.cli import main

if __name__ == "__main__":
    sys.exit(main(["synth", *sys.argv[1:]]))
