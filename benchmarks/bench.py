"""Run the speed benchmark (the same as `rnnzoo bench`): python benchmarks/bench.py --json bench.json"""

import sys

from rnnzoo.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
