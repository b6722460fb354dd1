"""The public complaint form (DOMAIN.md §5, *stimulation*: make complaining easy).

A page without sign-in at ``/complaint/`` where a customer files a complaint, in German or
English; a chrome-less variant at ``/complaint/embed/`` for other websites (by iframe, or by
the script ``/complaint/embed.js`` that inserts the iframe and sizes it to its content); and
the administrators' page with the snippets. Spam is kept out by a honeypot field, a signed
time stamp (time trap) and a per-IP rate limit (``guard``). Every complaint goes through
``kreis.service.services.case_create`` with channel "form" — number, owner, SLA due dates,
acknowledgement e-mail, the sender linked to a known party or created as a new person.
"""
