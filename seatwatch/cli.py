"""`seatwatch`: one command line for the whole product.

Each subcommand lives in its own module exposing `add_arguments(parser)` and
`run(args) -> int`; modules are imported only when their command runs, so the edge
daemon never imports Textual and the console never imports TFLite.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("seatwatch.demo", "run a simulated floor with an embedded broker and the console"),
    "edge": ("seatwatch.edge.daemon", "run the edge daemon (serial devices or replayed calls -> MQTT)"),
    "analyze": ("seatwatch.edge.analyze", "check a recorded stereo call and print its events as JSON"),
    "eval": ("seatwatch.edge.callbench.cli", "benchmark the alerts on generated calls with known truth"),
    "console": ("seatwatch.console.cli", "open the supervisors' console"),
    "firmware": ("seatwatch.edge.flashing.cli",
                 "find, flash and inspect inline devices (one, or a floor by seat map)"),
    "models": ("seatwatch.models.cli", "synthesize data, train and evaluate the TFLite models"),
    "policy": ("seatwatch.edge.policy_cli", "validate a policy file or print the policy reference"),
    "scenarios": ("seatwatch.edge.sim.cli", "list and render the scripted demo/test calls"),
    "provision": ("seatwatch.edge.security.cli",
                  "create broker credentials and ACLs for devices and consoles"),
}


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seatwatch", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = next((arg for arg in argv if not arg.startswith("-")), None)
    for name, (module, help_text) in COMMANDS.items():
        child = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:  # only the chosen command's module is imported
            importlib.import_module(module).add_arguments(child)
        child.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    module = importlib.import_module(args._module)
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
