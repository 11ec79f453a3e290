"""Site economics (issue 12): what a fleet of miners at a wind site would have earned running
only when the site was curtailed. Import from the defining modules: ``inputs`` (fleet,
assumptions, site periods, calendar), ``model`` (the per-period math and roll-ups), ``sizing``
(the sweep and the duration curve), ``results`` (typed answers), ``site`` and ``fees`` (reads),
``scenario`` (the one call an entry point makes)."""
