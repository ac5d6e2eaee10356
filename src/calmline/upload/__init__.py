"""Sending finished session folders from a learner's laptop to ``calmline serve``.

``files`` says what a session folder may hold on the wire (shared by both sides);
``client`` sends folders and keeps the ones that failed queued; the server side is
``calmline.web.uploads`` and its route ``calmline.web.routes.upload``.
"""
