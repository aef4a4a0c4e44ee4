"""phoihop ("phối hợp"): the BPMN workflow engine of Hanoi's inter-agency coordination (Decision 5921/QĐ-UBND).

One installed package over the project's folders: ``phoihop.engine`` (engine/), ``phoihop.api`` (api/),
``phoihop.web`` (web/), the Alembic scripts (migrations/) and the Decision 5921 processes (processes/) are links in
this folder to the top-level folders of the checkout, so every tool (setuptools, mypy, import-linter, pytest) reads
one tree. The modules here are the composition root that the API and the web app share: ``settings``, ``auth``
(tokens and API keys to an Actor), ``problems`` (engine errors to HTTP, once), ``deps`` (FastAPI dependencies), and
on top ``app`` (the application factory) and ``cli`` (the ``phoihop`` command).
"""

__version__ = "0.1.0"
