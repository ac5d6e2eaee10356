"""Helpers shared by the test modules: the CLI runner, free ports, synthesised speech,
the practice-call set-up, the fake OpenAI-compatible server and a throwaway PostgreSQL.

Plain functions and classes only; fixtures live in ``tests/conftest.py``. Test modules
import from here (``from support.cli import calmline``), never from one another.
"""
