"""The trainer and assessor dashboard: ``calmline serve`` (FastAPI, Jinja2, SQLAlchemy).

``create_app(settings)`` in :mod:`calmline.web.app` builds the application; the index
database (:mod:`db`) mirrors ``recordings/`` (:mod:`indexer`) and adds what only the web
knows: accounts, assignments, assessor reviews and their audit trail.
"""
