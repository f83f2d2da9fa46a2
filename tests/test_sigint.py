"""The deferred Ctrl-C every batch runner shares (gitmig.db.sigint), in a process of its
own, where Ctrl-C has Python's handler as in `gitmig migrate`; and the warm paths'
modules, which must stay free of SQLAlchemy now that they share it with the full path."""

from __future__ import annotations

import subprocess
import sys
import textwrap

WARM_MODULES = ("gitmig.db.sigint", "gitmig.db.batch", "gitmig.db.sqlitebatch",
                "gitmig.db.sqlitelock", "gitmig.actions.warmempty",
                "gitmig.actions.warmmigrate", "gitmig.actions.warmpg")


def python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=60)


def test_the_warm_paths_import_no_sqlalchemy() -> None:
    r = python(f"""
        import sys
        for name in {WARM_MODULES!r}:
            __import__(name)
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("sqlalchemy", "alembic")))
    """)
    assert (r.returncode, r.stdout, r.stderr) == (0, "[]\n", "")


def test_a_first_ctrl_c_waits_and_a_second_one_stops_the_run() -> None:
    r = python("""
        import signal
        from gitmig.db.sigint import deferring_sigint

        presses = []
        def defer():
            presses.append(1)
            return len(presses) == 1  # only the first one waits

        try:
            with deferring_sigint(defer):
                signal.raise_signal(signal.SIGINT)
                print("the first one waits")
                signal.raise_signal(signal.SIGINT)
                print("never")
        except KeyboardInterrupt:
            print("the second one stops")
        print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)
    """)
    assert (r.returncode, r.stdout, r.stderr) == (
        0, "the first one waits\nthe second one stops\nTrue\n", "")


def test_a_ctrl_c_python_does_not_handle_is_left_alone() -> None:
    """A fleet's workers ignore Ctrl-C: deferring changes nothing there."""
    r = python("""
        import signal
        from gitmig.db.sigint import deferring_sigint

        signal.signal(signal.SIGINT, signal.SIG_IGN)
        with deferring_sigint(lambda: False):
            signal.raise_signal(signal.SIGINT)
            print("ignored")
        print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)
    """)
    assert (r.returncode, r.stdout, r.stderr) == (0, "ignored\nTrue\n", "")
