"""The base of every `huikuan` command: options work before or after the sub-command.

argparse only knows an option on the parser that defines it: ``huikuan credit --company X rescore``
works when ``--company`` belongs to ``credit`` but ``huikuan credit rescore --company X`` does not,
and an option defined on every sub-command is refused before the sub-command. ``share_options``
fixes both once the command has declared its arguments:

- every option of a parser is also accepted by each of its sub-commands (recursively), and listed in
  their ``--help``;
- an option that every sub-command defines the same way (same default, not required) is also
  accepted before the sub-command.

The copies default to ``argparse.SUPPRESS`` so a sub-command never overwrites with its default a
value given before it (argparse copies the sub-namespace over the parent's); the parser that owns
the option keeps the real default, so ``handle()`` always receives the key.
"""

from __future__ import annotations

import argparse
import copy

from django.core.management.base import BaseCommand


def _subcommand_actions(parser: argparse.ArgumentParser) -> list[argparse._SubParsersAction]:
    return [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]


def _optionals(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions
            if a.option_strings and not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))]


def _has(parser: argparse.ArgumentParser, action: argparse.Action) -> bool:
    return any(opt in parser._option_string_actions for opt in action.option_strings)


def _copy_into(parser: argparse.ArgumentParser, action: argparse.Action, *, default) -> None:
    clone = copy.copy(action)
    clone.default = default
    clone.container = parser
    parser._add_action(clone)


def _children(parser: argparse.ArgumentParser):
    for sub_action in _subcommand_actions(parser):
        yield list({id(p): p for p in sub_action.choices.values()}.values())


def _hoist(parser: argparse.ArgumentParser) -> None:
    """Bottom-up: an option every sub-command defines alike is also accepted before the sub-command."""
    for children in _children(parser):
        for child in children:
            _hoist(child)
        if not children:
            continue
        first, rest = children[0], children[1:]
        for action in _optionals(first):
            if action.required or _has(parser, action):
                continue
            twins = [c._option_string_actions.get(action.option_strings[0]) for c in rest]
            if all(t is not None and t.default == action.default and not t.required for t in twins):
                _copy_into(parser, action, default=action.default)
                for child_action in [action, *twins]:
                    child_action.default = argparse.SUPPRESS


def _push(parser: argparse.ArgumentParser) -> None:
    """Top-down: a parser's options are also accepted (and listed) after each of its sub-commands."""
    for children in _children(parser):
        for child in children:
            for action in _optionals(parser):
                if not action.required and not _has(child, action):
                    _copy_into(child, action, default=argparse.SUPPRESS)
            _push(child)


def share_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Make options work before or after the sub-command (see the module docstring); returns ``parser``."""
    _hoist(parser)
    _push(parser)
    return parser


class HuikuanCommand(BaseCommand):
    """A management command whose options work before or after its sub-command."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        return share_options(super().create_parser(prog_name, subcommand, **kwargs))
