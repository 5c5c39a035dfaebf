"""Count DynamoDB calls at the client with botocore event hooks, and estimate the request units they cost.

Installed in the Serverflow server process (bench.sf_server). Each call is attributed to the HTTP route
(or websocket) whose handling made it, via a contextvar the ASGI middleware sets; calls made outside a
request (the scheduled functions ticking) go to "background".

Request units are *estimated* from DynamoDB's sizing rules, because the emulator reports fixed
ConsumedCapacity values: write = ceil(item KB / 1) WRU (x2 in a transaction), plus each GSI the write
touches (a put into or delete from an index, or an in-place rewrite, is one write there; a change of the
item's index key is a delete plus a put, two writes), read = ceil(KB / 4) RRU (x0.5 eventually consistent, x2 in a transaction;
a key read with no item there costs the minimum, 1 RRU or 0.5); a Query is
charged for the items it read (ScannedCount x the average size of the items it returned; a COUNT Query returns
none: x the average of what a Query of the same partition, else index, last returned).
"""

from __future__ import annotations

import contextvars
import math
import re
import threading
import time
from collections import defaultdict
from typing import Any

from shared.storage.flow_run_index import INDEX_SK
from shared.storage.task_run_keys import ENTITY as GUARD_ENTITY
from shared.storage.task_run_keys import FLOW_RUN_PARTITION

_GUARD_PREFIX = f"{FLOW_RUN_PARTITION}#"


def _is_anchor(item: dict[str, Any]) -> bool:
    """A flow run's index anchor, or a task-run guard in its flow run's partition (task_run_keys.py; a keyed
    run there is a run, not an anchor)."""
    if (item.get("SK") or {}).get("S") == INDEX_SK:
        return True
    guard = (item.get("entity") or {}).get("S") == GUARD_ENTITY
    return guard and (item.get("PK") or {}).get("S", "").startswith(_GUARD_PREFIX)


ROUTE: contextvars.ContextVar[str] = contextvars.ContextVar("bench_route", default="background")
TXN_OPS = {"TransactWriteItems", "TransactGetItems"}
_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{64}")
_TS = re.compile(r"\d{4}-\d\d-\d\dT[0-9:.]+Z?")
_DAY = re.compile(r"\d{4}-\d\d-\d\d")


def key_pattern(value: str) -> str:
    """A partition key with its ids, timestamps and days generalised: `EVENTS#<day>`,
    `TASK_RUN#<id>`. A pattern without `<id>` is one key shared by every run (a hot-key candidate)."""
    return _DAY.sub("<day>", _TS.sub("<ts>", _ID.sub("<id>", value)))


def attr_size(v: dict[str, Any]) -> int:
    """Approximate stored size (bytes) of one DynamoDB AttributeValue."""
    ((t, x),) = v.items()
    if t == "S":
        return len(x.encode())
    if t == "N":
        return len(str(x).lstrip("-").replace(".", "")) // 2 + 2
    if t == "B":
        return len(x) if isinstance(x, (bytes, bytearray)) else len(str(x)) * 3 // 4
    if t in ("BOOL", "NULL"):
        return 1
    if t == "L":
        return 3 + sum(1 + attr_size(e) for e in x)
    if t == "M":
        return 3 + sum(1 + len(k.encode()) + attr_size(e) for k, e in x.items())
    if t == "SS":
        return sum(len(e.encode()) for e in x)
    if t == "NS":
        return sum(len(e) // 2 + 2 for e in x)
    if t == "BS":
        return sum(len(e) for e in x)
    return 0


def item_size(item: dict[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(k.encode()) + attr_size(v) for k, v in item.items())


def _key_items(op: str, out: dict[str, Any]) -> int:
    """Items a GetItem / BatchGetItem returned (what it read and was charged for)."""
    if op == "GetItem":
        return 1 if out.get("Item") else 0
    if op in ("BatchGetItem", "TransactGetItems"):
        if op == "TransactGetItems":
            return sum(1 for r in out.get("Responses") or [] if r.get("Item"))
        return sum(len(items) for items in (out.get("Responses") or {}).values())
    return 0


def _s(raw: str) -> str:
    """The string inside a repr'd AttributeValue ({'S': '...'})."""
    found = re.search(r"'S': '([^']*)'", raw)
    return found.group(1) if found else raw


def _key_id(key: dict[str, Any] | None) -> str:
    return repr(sorted((key or {}).items()))


_HASH_CONDITION = re.compile(r"^\s*\(?\s*[#\w]+\s*=\s*(:\w+)")


def _partition_value(params: dict[str, Any]) -> str:
    """The partition key value a Query names (its key condition's first `name = :value`), or ""."""
    found = _HASH_CONDITION.match(params.get("KeyConditionExpression") or "")
    value = (params.get("ExpressionAttributeValues") or {}).get(found.group(1)) if found else None
    return str(value) if value is not None else ""


class Meter:
    """Thread-safe per-route counters of DynamoDB calls, estimated RRU/WRU and Query selectivity."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.routes: dict[str, dict[str, Any]] = defaultdict(self._blank)
        # table -> [(gsi hash attr, gsi range attr or "", projection type)]
        self.gsis: dict[str, list[tuple[str, str, str]]] = {}
        self.sizes: dict[str, int] = {}  # last known item size by key, to size UpdateItem/DeleteItem
        # last known index keys of each item (by key): which GSIs hold it, under which keys. A write that
        # moves an item within an index is a delete plus a put there (two index writes), as DynamoDB bills it.
        self.index_keys: dict[str, dict[str, tuple[Any, Any]]] = {}
        # Items written with a TTL attribute (expires_at): their storage is bounded by a retention period.
        self.expiring: set[str] = set()
        # WRU of the call being estimated, by item kind (key prefixes) and "+GSIn" for its index writes.
        self._by = threading.local()
        # Average size of the entries a Query returned, by (table, index, partition) and by (table, index):
        # a COUNT Query returns none, yet is charged for the ones it read (sized as that partition's last).
        self.entry_sizes: dict[tuple[str, ...], float] = {}

    @staticmethod
    def _blank() -> dict[str, Any]:
        return {
            "requests": 0,
            "ws_messages": 0,
            "log_bytes": 0,
            "stored_kept": 0,
            "stored_expiring": 0,
            "server_s": 0.0,
            "ddb_calls": 0,
            "ops": defaultdict(int),
            "rru": 0.0,
            "wru": 0.0,
            "ddb_s": 0.0,
            "clients_created": 0,
            "other_aws_calls": defaultdict(int),
            "query_scanned": 0,
            "query_returned": 0,
            "queries": 0,
            "scans": 0,
            "key_reads": 0,
            "index_anchors": 0,
            "wru_by": defaultdict(float),
            "put_bytes_by": defaultdict(int),
            "puts_by": defaultdict(int),
            "wru_by_key": defaultdict(float),
        }

    # -- HTTP side (called by the ASGI middleware) --
    def record_request(self, route: str, seconds: float) -> None:
        """A request (or websocket connection) finished after `seconds`."""
        with self.lock:
            r = self.routes[route]
            r["requests"] += 1
            r["server_s"] += seconds

    def record_ws_message(self, route: str) -> None:
        with self.lock:
            self.routes[route]["ws_messages"] += 1

    def record_log(self, route: str, nbytes: int) -> None:
        """A log record the deployed functions would send to CloudWatch Logs, `nbytes` as ingested."""
        with self.lock:
            self.routes[route]["log_bytes"] += nbytes

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                k: {
                    **v,
                    "ops": dict(v["ops"]),
                    "wru_by": {n: round(w, 3) for n, w in v["wru_by"].items()},
                    "put_bytes_by": dict(v["put_bytes_by"]),
                    "puts_by": dict(v["puts_by"]),
                    "wru_by_key": {n: round(w, 3) for n, w in v["wru_by_key"].items()},
                    "other_aws_calls": dict(v["other_aws_calls"]),
                    "server_s": round(v["server_s"], 6),
                    "ddb_s": round(v["ddb_s"], 6),
                    "rru": round(v["rru"], 3),
                    "wru": round(v["wru"], 3),
                }
                for k, v in self.routes.items()
            }

    def reset(self) -> None:
        with self.lock:
            self.routes.clear()

    # -- botocore side --
    def before_call(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        """`before-parameter-build`: `params` are the API parameters (not yet serialized)."""
        context["bench_params"] = params
        context["bench_t0"] = time.perf_counter()
        if model.name == "CreateTable" and "TableName" in params:
            self.gsis[params["TableName"]] = [
                (
                    next(k["AttributeName"] for k in g["KeySchema"] if k["KeyType"] == "HASH"),
                    next((k["AttributeName"] for k in g["KeySchema"] if k["KeyType"] == "RANGE"), ""),
                    g.get("Projection", {}).get("ProjectionType", "ALL"),
                )
                for g in params.get("GlobalSecondaryIndexes", [])
            ]

    def client_created(self, **_: Any) -> None:
        """`creating-client-class`: a botocore client is being built (costly: ~tens of ms)."""
        with self.lock:
            self.routes[ROUTE.get()]["clients_created"] += 1

    def other_call(self, model: Any, **_: Any) -> None:
        """`after-call` of any non-DynamoDB service (SQS, EventBridge, S3...)."""
        with self.lock:
            self.routes[ROUTE.get()]["other_aws_calls"][f"{model.service_model.service_name}.{model.name}"] += 1

    def after_call(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        op = model.name
        params = context.get("bench_params") or {}
        elapsed = time.perf_counter() - context.get("bench_t0", time.perf_counter())
        self._by.value = defaultdict(float)
        try:
            rru, wru, scanned, returned = self._units(op, params, parsed or {})
        except Exception:  # noqa: BLE001 - the meter must never break the server
            rru = wru = 0.0
            scanned = returned = 0
        with self.lock:
            r = self.routes[ROUTE.get()]
            r["ddb_calls"] += 1
            r["ddb_s"] += elapsed
            r["ops"][op] += 1
            r["rru"] += rru
            r["wru"] += wru
            for name, units in self._by.value.items():
                if name.startswith("stored:"):
                    r[f"stored_{name[7:]}"] += units  # net bytes stored: item + index copies + overhead
                elif name.startswith("key:"):
                    r["wru_by_key"][name[4:]] += units
                elif name.startswith("bytes:"):
                    r["put_bytes_by"][name[6:]] += units  # stored bytes of the items put, by kind
                    r["puts_by"][name[6:]] += 1
                else:
                    r["wru_by"][f"{op}:{name}"] += units
            # Items read by key (GetItem, BatchGetItem): with Query's ScannedCount, every item read.
            r["key_reads"] += _key_items(op, parsed or {})
            if op in ("Query", "Scan"):
                r["queries" if op == "Query" else "scans"] += 1
                r["query_scanned"] += scanned
                r["query_returned"] += returned
                # Index anchors (flow runs' #INDEX items, and the task-run guards that list a flow run's
                # task runs): index entries that stand for the run fetched behind them, counted apart from
                # the items read (bench.floor).
                r["index_anchors"] += sum(1 for item in (parsed or {}).get("Items") or [] if _is_anchor(item))

    # -- estimation --
    def _note(self, kind: str, units: float) -> None:
        by = getattr(self._by, "value", None)
        if by is not None and units:
            by[kind] += units

    @staticmethod
    def _kind(item_key: dict[str, Any] | None) -> str:
        """What an item is, from its keys: the PK prefix, and the SK prefix when it is not #META."""

        def prefix(attr: str) -> str:
            value = (item_key or {}).get(attr) or {}
            return str(value.get("S", "?")).split("#")[0] if isinstance(value, dict) else "?"

        sk = prefix("SK")
        sk = sk if sk.replace("_", "").isalpha() and sk.isupper() else ("*" if sk else "")  # timestamps etc.
        return prefix("PK") + (f"/{sk}" if sk else "")

    def _index_writes(
        self,
        table: str,
        key: str,
        new_keys: dict[str, tuple[Any, Any]] | None,
        touched: set[str],
        removed: set[str],
        base: int,
        kind: str = "?",
    ) -> float:
        """Write units one item write spends on the table's GSIs, as DynamoDB bills them: a put into or a
        delete from an index is one write, an in-place rewrite one, and a move (the index key changed) a
        delete plus a put. `new_keys`: the item's index keys after a Put or Delete; None for an Update, whose
        new key values are not parsed (setting an index's key attributes counts as a move if the item was in
        it); `touched`/`removed`: attributes the Update sets / removes."""
        old_keys = self.index_keys.get(key, {})
        after: dict[str, tuple[Any, Any]] = {}
        units = 0.0
        for hash_attr, range_attr, projection in self.gsis.get(table, []):
            per_write = base if projection == "ALL" else 1
            before = old_keys.get(hash_attr)
            moved = False
            if new_keys is not None:
                now = new_keys.get(hash_attr)
                moved = before is not None and now is not None and before != now
            elif hash_attr in removed:
                now = None
            elif hash_attr in touched or (range_attr and range_attr in touched):
                now, moved = ("updated", "updated"), before is not None
            else:
                now = before
                if projection != "ALL":
                    if now is not None:
                        after[hash_attr] = now
                    continue  # only projected attributes changed: nothing to write there
            if now is not None:
                after[hash_attr] = now
            if before is None and now is None:
                continue
            units += per_write * (2 if moved else 1)
            self._note(f"{kind}+{hash_attr[:-2]}", per_write * (2 if moved else 1))
            for value in {v for v in (before, now) if v is not None}:
                # Write units landing on each index partition key (a move bills both keys).
                raw = value[0] if value[0] != "updated" else "?"
                self._note(f"key:{hash_attr[:-2]} {key_pattern(_s(raw))}", per_write)
        self.index_keys[key] = after
        return units

    def _stored_size(self, table: str, key: str, size: int | None) -> int:
        """Bytes DynamoDB bills storage for: the item plus its copy in each index holding it (all of it under
        an ALL projection, its keys otherwise), each with the 100 bytes of per-item overhead."""
        if size is None:
            return 0
        projections = {h: projection for h, _, projection in self.gsis.get(table, [])}
        copies = sum(size if projections.get(h) == "ALL" else 64 for h in self.index_keys.get(key, {}))
        return size + 100 + copies + 100 * len(self.index_keys.get(key, {}))

    def _note_stored(self, key: str, before: int, after: int) -> None:
        """Net change of stored bytes, split by whether the item expires (TTL) or is kept."""
        self._note("stored:expiring" if key in self.expiring else "stored:kept", after - before)

    def _item_index_keys(self, table: str, item: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
        return {
            h: (repr(item[h]), repr(item.get(r)) if r else None) for h, r, _ in self.gsis.get(table, []) if h in item
        }

    def _put(self, table: str, p: dict[str, Any], txn: bool) -> float:
        item = p.get("Item") or {}
        size = item_size(item)
        key = _key_id({k: v for k, v in item.items() if k in ("PK", "SK")})
        base = math.ceil(max(size, 1) / 1024)
        kind = self._kind(item)
        self._note(kind, base * (2 if txn else 1))
        self._note(f"key:table {key_pattern(str((item.get('PK') or {}).get('S', '?')))}", base * (2 if txn else 1))
        self._note(f"bytes:{kind}", size)
        stored_before = self._stored_size(table, key, self.sizes.get(key))
        if key in self.expiring:
            self._note_stored(key, stored_before, 0)  # re-added below under the item's new TTL status
            stored_before = 0
        (self.expiring.add if "expires_at" in item else self.expiring.discard)(key)
        self.sizes[key] = size
        units = base * (2 if txn else 1) + self._index_writes(
            table, key, self._item_index_keys(table, item), set(), set(), base, kind
        )
        self._note_stored(key, stored_before, self._stored_size(table, key, size))
        return units

    def _update(self, table: str, p: dict[str, Any], txn: bool, op: str) -> float:
        key = _key_id(p.get("Key"))
        kind = self._kind(p.get("Key"))
        if op == "Delete":
            stored_before = self._stored_size(table, key, self.sizes.get(key))
            size = self.sizes.pop(key, 1)
            base = math.ceil(max(size, 1) / 1024)
            self._note(f"{kind}(delete)", base * (2 if txn else 1))
            units = base * (2 if txn else 1) + self._index_writes(table, key, {}, set(), set(), base, kind)
            self._note_stored(key, stored_before, 0)
            self.expiring.discard(key)
            return units
        if op == "ConditionCheck":
            self._note(f"{kind}(check)", float(math.ceil(max(self.sizes.get(key, 1), 1) / 1024) * (2 if txn else 1)))
            return float(math.ceil(max(self.sizes.get(key, 1), 1) / 1024) * (2 if txn else 1))
        vals = p.get("ExpressionAttributeValues") or {}
        stored_before = self._stored_size(table, key, self.sizes.get(key))
        size = max(self.sizes.get(key, 0), item_size(p.get("Key")) + sum(attr_size(v) for v in vals.values()))
        self.sizes[key] = size
        expression = p.get("UpdateExpression") or ""
        aliases = p.get("ExpressionAttributeNames") or {}
        words = set(expression.replace(",", " ").replace("=", " ").split())
        names = {aliases.get(w, w) for w in words}
        removed_part = expression.split("REMOVE", 1)[1].split("SET", 1)[0] if "REMOVE" in expression else ""
        removed = {aliases.get(w, w) for w in removed_part.replace(",", " ").split()}
        base = math.ceil(max(size, 1) / 1024)
        self._note(f"{kind}(update)", base * (2 if txn else 1))
        units = base * (2 if txn else 1) + self._index_writes(table, key, None, names - removed, removed, base, kind)
        self._note_stored(key, stored_before, self._stored_size(table, key, size))
        return units

    def _units(self, op: str, p: dict[str, Any], out: dict[str, Any]) -> tuple[float, float, int, int]:
        table = p.get("TableName", "")
        factor = 1.0 if p.get("ConsistentRead") else 0.5
        if op == "PutItem":
            return 0.0, self._put(table, p, False), 0, 0
        if op in ("UpdateItem", "DeleteItem"):
            return 0.0, self._update(table, p, False, "Delete" if op == "DeleteItem" else "Update"), 0, 0
        if op == "GetItem":
            size = item_size(out.get("Item"))
            if out.get("Item"):
                self.sizes[_key_id(p.get("Key"))] = size
            return math.ceil(max(size, 1) / 4096) * factor, 0.0, 0, 0
        if op in ("Query", "Scan"):
            items = out.get("Items") or []
            returned = int(out.get("Count", len(items)))
            scanned = int(out.get("ScannedCount", returned))
            index = (table, p.get("IndexName") or "")
            partition = (*index, _partition_value(p))
            if items:
                avg = sum(item_size(i) for i in items) / len(items)
                if "ProjectionExpression" not in p:
                    self.entry_sizes[partition] = self.entry_sizes[index] = avg
            else:
                avg = self.entry_sizes.get(partition) or self.entry_sizes.get(index) or 512
            return max(0.5, math.ceil(scanned * avg / 4096) * factor), 0.0, scanned, returned
        if op == "BatchGetItem":
            # Each key is read as its own GetItem: a key with no item still costs the minimum unit, and a
            # table's ConsistentRead doubles its keys' units.
            rru = 0.0
            for tname, request in (p.get("RequestItems") or {}).items():
                unit = 1.0 if request.get("ConsistentRead") else 0.5
                found = [item_size(i) for i in (out.get("Responses") or {}).get(tname) or []]
                unread = len(((out.get("UnprocessedKeys") or {}).get(tname) or {}).get("Keys") or [])
                missing = max(len(request.get("Keys") or []) - len(found) - unread, 0)
                rru += (sum(math.ceil(max(s, 1) / 4096) for s in found) + missing) * unit
            return rru or 0.5, 0.0, 0, 0
        if op == "BatchWriteItem":
            w = 0.0
            for tname, reqs in (p.get("RequestItems") or {}).items():
                for req in reqs:
                    if "PutRequest" in req:
                        w += self._put(tname, req["PutRequest"], False)
                    else:
                        w += self._update(tname, req.get("DeleteRequest", {}), False, "Delete")
            return 0.0, w, 0, 0
        if op == "TransactWriteItems":
            w = 0.0
            for ti in p.get("TransactItems", []):
                ((kind, body),) = ti.items()
                tname = body.get("TableName", table)
                w += self._put(tname, body, True) if kind == "Put" else self._update(tname, body, True, kind)
            return 0.0, w, 0, 0
        if op == "TransactGetItems":
            sizes = [item_size(r.get("Item")) for r in out.get("Responses") or []]
            return sum(2.0 * math.ceil(max(s, 1) / 4096) for s in sizes), 0.0, 0, 0
        return 0.0, 0.0, 0, 0


METER = Meter()


def install(meter: Meter = METER) -> None:
    """Register the hooks on every botocore session created from now on (boto3's and pynamodb's)."""
    import botocore.session

    orig_init = botocore.session.Session.__init__
    if getattr(orig_init, "_bench_hooked", False):
        return

    def init(self: botocore.session.Session, *a: Any, **kw: Any) -> None:
        orig_init(self, *a, **kw)
        self.register("before-parameter-build.dynamodb", meter.before_call)
        self.register("after-call.dynamodb", meter.after_call)
        self.register("creating-client-class", meter.client_created)
        for service in ("sqs", "events", "s3", "scheduler", "lambda", "apigatewaymanagementapi"):
            self.register(f"after-call.{service}", meter.other_call)

    init._bench_hooked = True  # type: ignore[attr-defined]  # a marker attribute on the patched function
    botocore.session.Session.__init__ = init
