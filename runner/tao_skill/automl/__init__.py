"""AutoML over runner jobs, on Optuna.

A study searches hyper-parameters of a skill's ``train`` action. Each trial is a child job of the
AutoML job (same job store, same launcher as a direct run), its KPI read from the child's
``status.json`` after every validation and reported to Optuna for pruning. Modules:

* :mod:`.settings`   - what the user asked (algorithm, budgets, metric) resolved against skill_info.
* :mod:`.space`      - the search space from the generated train schema (no Optuna import).
* :mod:`.algorithms` - algorithm names -> Optuna samplers and pruners.
* :mod:`.storage`    - study storage (SQLite in the workspace or an RDB URL), create/load/resume.
* :mod:`.trial`      - one trial: spec, child job, KPI polling, pruning.
* :mod:`.results`    - history, best spec, plots.
* :mod:`.launcher`   - ``run_from_plan`` (the runner's hand-off), worker and resume.
"""
