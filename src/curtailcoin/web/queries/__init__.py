"""Read-only analytics queries behind the JSON API and the dashboard.

Every figure comes from the database, with parameterised SQL (SQLAlchemy Core) only. A *scope*
(:mod:`.scope`) is a half-open date range — a day, a month or a year — plus optional filters;
one planner (:mod:`.plan`) decides which stored level answers it. Curtailment totals
(:mod:`.curtailment`), Bitcoin (:mod:`.bitcoin`), per-BM-unit figures (:mod:`.farms`), data
completeness (:mod:`.status`), reference lists (:mod:`.reference`) and network conditions
(:mod:`.conditions`) each live in their own module; import from the defining module.
"""
