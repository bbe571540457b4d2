"""Profiling notes for docs/benchmarks.md (kept by hand; the tables above them are generated).

Update this text when a profile changes: it is what the numbers do not say on their own.
"""

FINDINGS = """
## Findings

Measured with `pyinstrument` and with variants of the hot path timed side by side
(`race()` in `benchmarks/_harness.py`), and for the compiled build with `perf` and by reading
the C that mypyc generates; numbers below are from the development machine (2 shared cores,
noisy), so read them as proportions.

### Round 2: the compiled core, and the goals it misses

The tables show each build's own ratios (the compiled run and the pure-Python run are separate
processes; every ratio is taken within one). `python3 dev.py bench` runs both; see
`docs/compiled.md` for which modules are compiled.

* **`get` (compiled ~1.8x `dict.get`, ~1.2x cachebox; goal 1.5x and 1.0x).** A compiled `get`
  is a mypyc closure called through vectorcall: a dict probe, the `Entry` load, a deadline test
  skipped for entries without one, and the recency stamp. Two costs remain that `dict.get` and
  cachebox do not pay. The `Entry` is a second dependent, random memory access per read
  (`dict` slot -> `Entry` -> value, where `dict.get` goes slot -> value): on shuffled reads of
  100k residents that is most of the gap, and it grows with the pool (the scaling table: `get`
  per read rises with size much like `dict.get` would, the extra load included). The stamp
  draws from an `itertools.count` because every drawn epoch is a counted hit and the count
  must stay exact across threads in pure Python too (a plain `+= 1` would be atomic only in the
  compiled build); mypyc calls the bound `__next__` (about 30 ns, an `int` allocated per hit).
  Calling `next(counter)` instead was ~100 ns slower compiled: mypyc looks the builtin up on
  every call, which is why the hot paths keep `epoch.__next__` in an attribute.
* **`insert` (compiled ~1.3x cachetools' `LRUCache.__setitem__`; goal 1.0x).** The lean path
  (`CommitPath.insert_one`, installed as the pool's `insert` closure) builds no
  `CommitResult`, reads the clock only when a deadline is involved and reads copies of the
  config in native attributes. `perf` puts a third of what is left in the write lock: an
  `RLock` `acquire`/`release` pair parses its arguments and calls `clock_gettime` each time
  (~100 ns here). cachetools takes no lock at all; `Punnu.insert` must be thread-safe
  (SPEC 4), so this cost stays. The rest is the `Entry` and the two dense-list slots that make
  sampled eviction O(1) and scans a list copy.
* **`apply_delta` into an empty pool (compiled ~0.8-1.2x the cachetools loop, see the insert
  table; goal 1.0x) and its flatness (goal: 1M within 1.5x of 10k).** The batch is normalised
  in compiled code (`sassi/_batch.py`); ids that arrive strictly ascending (a database delta)
  skip the dedupe dict and the sort; a commit into a pool with room and no subscriber counts
  its survivors instead of keeping them by id, and `apply_delta` keeps no `stored` map. What
  grows with size is memory traffic: at 1M residents the map, the two dense lists and a
  million `Entry` objects no longer fit any cache, and the per-item cost rises the way the
  cachetools loop's does (compare the two in the scaling and insert tables).
* **Indexed query against a handwritten comprehension over exactly its candidates (compiled
  ~3.5-4x; goal 2x).** Per candidate the pool pays, on top of the predicate: a set insert (the
  candidate ids), a probe of the pool's map for the id's `Entry` (a random access), a sort of
  the candidates' positions (plain ints, so the result keeps the scan's order, which the tests
  hold the index to), and a list index for the value. The handwritten comprehension walks a
  prebuilt list of the objects in memory order. The cost per candidate is flat from 10k to
  1M residents (the scaling table), which is the "in proportion to its candidates" half of the
  goal; the factor is not met. Closing it needs index buckets that hold the entries themselves
  (no map probe) and an order contract that does not need the sort; both change the store's
  observer protocol and a tested guarantee, so they are left for a later round.
* **`F.id == k` (no index) and composite two-field queries against a scan.** An id term is
  answered from the pool's map: a few µs of planning and one probe, against a scan of every
  resident. The composite `(org, age)` query reads one child of the index tree (about 110
  candidates of 200k): the speed-up is the scan time over ~110 candidates' cost above plus the
  planning, so it lands near the 200x line and moves with the machine's load (see the verdicts).
* **Scans.** Scopes now generate their scan with the model's annotations in mind: fields
  annotated without `None` (`name: str`) drop their `is None` guards where the unguarded test
  raises on `None` (a value breaking its annotation takes the generated code's fallback, so
  results do not change). The 3-term scan stays within a few percent of the handwritten
  comprehension in both builds (the comprehension is generated Python, not compiled by mypyc).

**Reading the tables.** The machine these numbers come from is shared and its caches are small
for the data: reading 100k entries in shuffled order costs `dict.get` ~330 ns per read, against
~40 ns when the same ids are read in order. A shuffled read is dominated by cache misses, so every
extra pointer a cache follows shows up; the ratios are what carry over to other machines.

### `get` against `dict.get` and `cachebox`

`Punnu.get` is a Python closure (`Punnu._fast_get`, installed per pool when no metrics hook is
set): one dict lookup, a deadline check skipped for entries without a deadline, and a recency
stamp. Breakdown, per read of 100k residents (same machine, same run; "warm" reads the ids in
order, "cold" in shuffled order):

| variant | warm | cold |
|---|---:|---:|
| `dict.get` | 43 ns | 414 ns |
| `cachebox.LRUCache.get` (Rust) | 114 ns | 390 ns |
| `Punnu.get` (slotted `Entry` + `next(counter)` stamp) | 153 ns | 736 ns |
| the same closure without the stamp | 112 ns | 650 ns |
| the first design: 4-item `list` entry + stamp | 175 ns | 949 ns |
| a slotted `Entry` built in one loop + stamp | 158 ns | 755 ns |

* The floor is the interpreter call itself: a Python-level function costs ~70 ns more than a C
  method on a warm cache, so "no slower than cachebox" (a Rust extension) is out of reach for
  pure Python; with cold caches both are bound by memory and the gap is what `get` touches.
* The first store kept each entry as a 4-item `list`: the dict slot points to the list header,
  which points to a separate item array, two dependent loads before the value. Profiling this
  led to the slotted `Entry(value, epoch, deadline, pos)` in `sassi/_store.py` (fields inline,
  one load, 24 bytes smaller): cold reads went from ~950 to ~740 ns and memory per entry under
  the 1.5x goal.
* The recency stamp `entry.epoch = next(counter)` allocates an `int` and frees the previous
  one, whose memory is cold: ~40 ns warm, ~90 ns cold. Keeping epochs in an `array('q')` indexed
  by `pos` avoids the allocation but adds a random write into a second array; it helped warm
  reads and hurt cold ones in our runs, so we did not adopt it. What remains between `get` and
  2x `dict.get` on cold reads is this stamp plus the entry load.

### Memory per entry

Per resident, the pool adds to what a `dict` holds: the slotted `Entry` (64 bytes with its GC
header), two `int` objects (epoch and position, 28-32 bytes each) and one slot in each of the two
dense lists (`keys`, `values`) used for O(1) sampling and fast snapshots. A TTL adds the deadline
`float` and a heap row; two indexes add a dict slot per field plus a reverse-map slot
(single-id buckets are stored bare, not as one-element sets; the ordered part of an index is
only built by the first range query, so it is absent from this table).

### Scans

The pool's scan is the predicate compiled to one generated list comprehension
(`sassi.predicate._codegen.compile_scan`): attribute loads inline, operands hoisted as constants,
`frozenset` for `in_`, a cheap `is not None` guard per term. It runs within a few percent
of the handwritten comprehension; `scope().collect()` adds the snapshot copy of the
resident list (under the write lock). Calling the compiled predicate once per row costs a
Python call per row (~1.6x). TinyDB evaluates a tree of Python query objects per document and
is measured on a 20k-row subset because a full run would dominate the suite.

### Indexed queries

An indexed `==` over 200k residents takes ~8 µs end to end (plan, candidate lookup, ordering the
candidates as a scan would, re-checking the whole predicate on them, running the scope's ops),
against ~10 ms for the scan: three orders of magnitude. Before `Plan.explain` became lazy the
query path rendered the predicate's `repr` on every call (~30% of the time). Narrow ranges cost a
few µs more (walking the sorted keys of the range). The ordered part of an index is built on the
first range query, so fields only queried with `==`/`in_` pay only for the hash map on insert.

Selectivity decides everything else. A scan reads the residents in memory order (~50-100 ns a
row, prefetch-friendly); every index candidate costs a few random memory accesses (bucket, entry,
value) — ~1-2 µs each on this machine. The forced-index rows of the table put the break-even
between 1% (index ~2x faster) and 5% (index ~2x slower) of the residents, so the planner uses an
index only when its estimate is at most 2% of them (`sassi._index.SELECTIVITY_LIMIT`) and scans
otherwise; `scope.explain()` says which. Pools of at most 512 residents use any applicable
index (`SMALL_POOL`): both paths take microseconds there. Before this was measured the limit was 25%, which made
broad range queries up to 10x slower than a scan.

### Inserts

(Round 1, pure Python; round 2 is above.) A `Punnu.insert` takes the write lock, checks the conflict
policy, stamps recency, builds and publishes an `Inserted` event and checks capacity; the profile
is spread over `_commit_one` (~40% self time), `Store.put` and `_publish`. Each index adds a
hash-map update (~0.6 µs here; ordered upkeep only once a range query has built it). Under
eviction pressure an insert roughly doubles: half of the extra time is `pick_victim`, which
samples 5 random residents, each a read of `keys[pos]` and then a dict probe for its `Entry`
(two cold reads per sample); keeping the `Entry` objects in the dense list that sampling reads
would save the probe. Bulk loads should use `apply_delta(Delta(items=...))`, one commit for the
whole batch.

### Batched loading

1,000 resolver tasks each awaiting `loader.load(id)` for a different cold id: the loader makes
one fetcher call where `aget_or_fetch` per id makes 1,000, so with a 1 ms round trip per call it
finishes ~6x sooner (the per-id fetches overlap on one event loop; against a real database
pool they would queue). Against aiodataloader, which keeps only a dict of futures, the loader
costs ~1.5-2.5x the time on this machine (it moves with the load; ~20 ms against ~9-15 ms
per burst). Timed in phases (same machine, fetcher without latency, best of 30): from the first
load to the batch call, 9.5 ms against 5.3 ms — of which 7.4 ms is asyncio creating and running
the 1,000 resolver tasks, which both pay — and from the batch call to the last result, 6.2 ms
against 2.7 ms. The extra is what the loader does on top: each load reads L1 and files its id in
the single-flight registry shared with `aget_or_fetch` (so a concurrent `aget_or_fetch(id)`
joins the batch), each waiter wakes through an anyio event, and the batch validates every value
(`checked_id`) and inserts the 1,000 values in one commit (~2.5 ms, the same as
`aget_or_fetch_many`), after which they are cached: a second burst is all L1 hits.
"""
