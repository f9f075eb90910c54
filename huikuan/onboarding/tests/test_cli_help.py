"""The CLI behaves like one tool (issue 11 point 9): every `--help` lists every option the command (or
sub-command) accepts, options work before or after the sub-command, `--company` may be left out with
one company."""

import argparse

import pytest
from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import CommandError

from huikuan.common.commands import share_options


def _huikuan_commands():
    return sorted((name, app) for name, app in get_commands().items() if app.startswith("huikuan."))


def _walk(parser, path=()):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, (*path, name))


def _options(parser):
    return [a for a in parser._actions if a.option_strings and not isinstance(a, argparse._SubParsersAction)]


COMMANDS = _huikuan_commands()


def test_the_walk_finds_the_commands():
    names = {n for n, _app in COMMANDS}
    assert {"setup", "user", "credit", "collections", "dunning", "bank", "import", "apikey", "daily"} <= names


@pytest.mark.parametrize("name, app", COMMANDS)
def test_every_help_lists_every_option(name, app):
    parsers = dict(_walk(load_command_class(app, name).create_parser("huikuan", name)))
    for path, p in parsers.items():
        text = p.format_help()
        where = " ".join(("huikuan", name, *path))
        for action in _options(p):
            assert action.help != argparse.SUPPRESS, f"{where}: {action.option_strings} hidden from --help"
            for opt in action.option_strings:
                assert opt in text, f"`{where} --help` does not list {opt}"
        if path:  # a sub-command also accepts (and lists) every option of the command above it
            for action in _options(parsers[path[:-1]]):
                for opt in action.option_strings:
                    assert opt in text, f"`{where} --help` lacks {opt} of the command above it"


def test_share_options_before_and_after_the_subcommand():
    parser = argparse.ArgumentParser()
    parser.add_argument("--company", default="")
    sub = parser.add_subparsers(dest="action", required=True)
    a = sub.add_parser("a")
    a.add_argument("--as-of", default="today")
    b = sub.add_parser("b")
    b.add_argument("--as-of", default="today")
    b.add_argument("--only-b", action="store_true")
    share_options(parser)
    assert vars(parser.parse_args(["a", "--company", "X"])) == {"company": "X", "action": "a", "as_of": "today"}
    assert vars(parser.parse_args(["--company", "X", "a"])) == {"company": "X", "action": "a", "as_of": "today"}
    assert vars(parser.parse_args(["--as-of", "2026-11-05", "a"]))["as_of"] == "2026-11-05"  # hoisted: in every sub
    assert vars(parser.parse_args(["b", "--as-of", "2026-11-05"]))["as_of"] == "2026-11-05"
    assert vars(parser.parse_args(["b"])) == {"company": "", "action": "b", "as_of": "today", "only_b": False}
    with pytest.raises(SystemExit):
        parser.parse_args(["--only-b", "b"])  # not common to every sub-command: only after it


@pytest.mark.parametrize("argv", [
    ["credit", "rescore", "--company", "T01"], ["credit", "--company", "T01", "rescore"],
    ["collections", "queue", "--company", "t01"], ["collections", "--company", "T01", "queue"],
    ["bank", "--company", "T01", "match"], ["bank", "match", "--company", "T01"], ["bank", "match"],
    ["bank", "--company", "T01", "account", "list"], ["bank", "account", "--company", "T01", "list"],
    ["bank", "account", "list", "--company", "T01"],
    ["user", "list", "--company", "T01"], ["user", "--company", "T01", "list"], ["user", "list"],
    ["dunning", "run", "--dry-run", "--company", "T01"], ["dunning", "--company", "T01", "run", "--dry-run"],
])
def test_options_before_or_after_the_subcommand_and_company_optional(company, users, argv):
    call_command(*argv)


def test_unknown_or_ambiguous_company_is_a_clear_error(company, users):
    from huikuan.accounts.models import Company

    with pytest.raises(CommandError, match="Unknown company NOPE"):
        call_command("bank", "match", "--company", "NOPE", "--language", "en")
    Company.objects.create(code="T02", name="第二家")
    with pytest.raises(CommandError, match="several companies"):
        call_command("bank", "match", "--language", "en")
