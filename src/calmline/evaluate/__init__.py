"""The rubric evaluator: checks, the offline and LLM tiers, their merge, and the debrief.

Entry points: ``calmline.evaluate.evaluator.assess(session, rubrics, judge=None)`` and
``calmline.evaluate.debrief.build_debrief_questions(session, rubrics)``. Nothing is
imported here so that ``calmline.evaluate.rubric`` can use ``evaluate.rules`` without a cycle.
"""
