"""The engine's services, one concern a module; imports run one way, from the top of this list
down to the leaves:

- `idempotency`, `gap_fill`: jobs created for an API key's retry, for beat's daily gap fill.
- `execution`: running one unit (claim, execute, end); `collecting`: a data unit's collection;
  `unit_outcomes`: what a run comes to; `closing_dates`: month-end closing discovery.
- `recovery`: lost units and stale jobs dispatched again.
- `actions`: operator actions (cancel, pause, resume, retry), the state check written once.
- `units`: a unit's lease (claim, renew) and its end (finish, requeue, release).
- `dispatch`: starting jobs by priority and filling the window of units in flight.
- `outcome`: a job's final status; `follow_up`: the analytics job a collection queues.
- `jobs`: creating and previewing a job; `planning`: what a request means.
- `assembly`: a date's snapshot once its last unit ended (never dispatches).
- `broker` (task names, `send`: the one test seam), `locks` (every lock and its order),
  `leases`: leaves, importing nothing else of the services.
"""
