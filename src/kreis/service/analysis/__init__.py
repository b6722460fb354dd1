"""The indirect process of complaint management (DOMAIN.md §5): the analysis of the cases
(``figures``), its page and API (``views``, ``api``), and the periodic complaint report as HTML
and PDF with its SVG charts (``reports``, ``charts``), sent to its subscribers (``tasks``)."""
