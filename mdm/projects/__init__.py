"""E-government project management (电子政务项目管理) on the same records as the repositories.

A domain package on top of the core: a project's declaring department and its vendors are ``legal_entity``
records (by USCC), a vendor's penalties are ``credit_record`` records. The core never imports this package.

Modules: :mod:`models` (tables), :mod:`rules` (amounts, thresholds and their sources), :mod:`lifecycle`
(stages, transitions, gates), :mod:`service` (declare, read, list), :mod:`evaluations` and :mod:`costing`
(control price; GB/T 36964-2018 function-point cost), :mod:`vendors` (awards and credit check),
:mod:`duplicates` (similar declarations), :mod:`census` (O&M statistics), :mod:`dictionary` (code lists),
:mod:`documents`, :mod:`finance` (budget-system export and payment import) and :mod:`actions` (the one function
that records every action).
"""
