"""What /api/schema/ states beyond what drf-spectacular reads from the serializers (a
postprocessing hook, SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]).

- Request bodies refuse unknown fields (`additionalProperties: false`), as every input
  serializer does (`backfill.contracts.StrictSerializer`).
- A backfill request states that `startDate` is required unless `jobType` is
  `analytics-generation` (an `anyOf` of the two cases; OpenAPI 3.0 has no `if`/`then`).
- Path parameters `date` and `district_id` carry the pattern the
  views check: a value outside it is a 400 naming the parameter, a value inside it that names
  nothing a 404.
- The create operations link to the operations on the job they created (`links`), pause to
  resume and back, so a client (and a stateful test) follows them with a real id.
"""

from __future__ import annotations

from typing import Any

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
# districts.ids.DISTRICT_ID_PATTERN; surrounding blanks are stripped.
DISTRICT_ID_PATTERN = r"^\s*(?:\d{1,3}|[A-Za-z])\s*$"
PATH_PATTERNS = {
    "date": DATE_PATTERN,
    "district_id": DISTRICT_ID_PATTERN,
}
STRICT_REQUEST_BODIES = (
    "BackfillRequestRequest",
    "RateLimitConfigRequest",
    "PatchedRateLimitConfigRequest",
)
START_DATE_RULE = [
    {
        "required": ["jobType"],
        "properties": {"jobType": {"type": "string", "enum": ["analytics-generation"]}},
    },
    {"required": ["startDate"], "properties": {"startDate": {"type": "string"}}},
]
# create operation -> (id expression, {link name: (operation id, parameter of the job id)})
JOB_LINKS = {
    "backfill_job_create": (
        "$response.body#/jobId",
        {
            "status": "backfill_job_retrieve",
            "cancel": "backfill_job_cancel",
            "pause": "backfill_job_pause",
            "resume": "backfill_job_resume",
            "retry": "backfill_job_retry",
        },
        "job_id",
    ),
    # A paused job is resumed, a resumed one paused again: chains reach both with a 202.
    "backfill_job_pause": ("$response.body#/jobId", {"resume": "backfill_job_resume"}, "job_id"),
    "backfill_job_resume": ("$response.body#/jobId", {"pause": "backfill_job_pause"}, "job_id"),
    "legacy_backfill_create": (
        "$response.body#/backfillId",
        {"status": "legacy_backfill_retrieve", "cancel": "legacy_backfill_cancel"},
        "backfill_id",
    ),
    "legacy_district_backfill_create": (
        "$response.body#/backfillId",
        {
            "status": "legacy_district_backfill_retrieve",
            "cancel": "legacy_district_backfill_cancel",
        },
        "backfill_id",
    ),
}


def postprocess(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    schemas = result.get("components", {}).get("schemas", {})
    for name in STRICT_REQUEST_BODIES:
        if name in schemas:
            schemas[name]["additionalProperties"] = False
    if "BackfillRequestRequest" in schemas:
        schemas["BackfillRequestRequest"]["anyOf"] = START_DATE_RULE
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                pattern = PATH_PATTERNS.get(parameter["name"])
                if parameter.get("in") == "path" and pattern:
                    parameter["schema"] = {**parameter.get("schema", {}), "pattern": pattern}
            _add_links(operation)
    return result


def _add_links(operation: dict[str, Any]) -> None:
    found = JOB_LINKS.get(operation.get("operationId", ""))
    if found is None:
        return
    expression, targets, parameter = found
    links = {}
    for name, operation_id in targets.items():
        parameters = {parameter: expression}
        if operation_id.startswith("legacy_district_"):
            parameters["district_id"] = "$request.path.district_id"
        links[name] = {"operationId": operation_id, "parameters": parameters}
    for code in ("200", "202"):
        if code in operation.get("responses", {}):
            operation["responses"][code]["links"] = links
