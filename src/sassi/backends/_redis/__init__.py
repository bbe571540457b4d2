"""The internals of :mod:`sassi.backends.redis` (the only package that imports redis).

``_keys``     key layout, Lua scripts, ttl -> milliseconds
``_client``   redis-py clients per event loop, error mapping, one retry on a stale socket
``_backend``  :class:`RedisBackend`
``_stream``   :class:`RedisInvalidations`, the pub/sub subscription
"""
