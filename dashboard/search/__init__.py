"""The Search page: its view (``view.py``), its state kept in the URL (``state.py``) and the HTML
of its results (``results.py``)."""
