"""The JSON API's routers, one per resource group; ``web.app`` includes them in the order of
the OpenAPI document's paths: health, reference, curtailment, mining, farms, prices,
reconciliation, ingest."""
