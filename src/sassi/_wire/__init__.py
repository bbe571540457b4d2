"""The internals of :mod:`sassi.wire`, one concern per module (the public surface is there).

``_header``  the fixed container header and its ordered checks
``_codec``   one cached MessagePack codec per model class
``_ids``     the JSON form of ids used in backend keys and messages
``_entries`` pool entries (kinds 3 and 4): exports and snapshots
``_lazy``    msgspec imported on first use (``import sassi`` must not import it)
"""
