"""Synthetic population and feed generator (demo, tests, linkage tuning, benchmarks).

``contactpoint synth --children N --seed S --out DIR`` writes, for an England-like population
of households with the cases that break naive matching (twins and triplets, namesakes, moves,
surname changes, nicknames, transliterations, typos, date slips, missing fields):

* ``nhs-pds.ndjson`` (FHIR R4 Patient + RelatedPerson lines, source NHS-PDS);
* ``dfe-census.csv``, ``hmrc-chb.csv``, ``gro-births.csv``, ``la-csc-<la>.csv``,
  ``yot-<la>.csv``, ``shs-<la>.csv`` (the CSV feed contract, every column);
* ``ctf/<LAESTAB>.xml`` (DfE Common Transfer Files from a few schools, source CTF-<LAESTAB>);
* a ``<file>.manifest.json`` beside every feed file;
* ``truth.csv`` (``source,source_record_id,person_id``, one row per record written);
* ``synth.json`` (the parameters, record counts per source, hard-case counts, and the
  generator fingerprint a delta checks).

``--delta-of BASE`` writes a daily delta against ``BASE`` instead (``synth.delta``);
``--condition NAME`` draws a population unlike the default one (``synth.conditions``: initials,
within-source duplicates, two NHS numbers, name origins, typos x3, missing DOB parts, address
churn, dedupe-only, many sources).
Modules: ``config`` (rates), ``conditions`` (the robustness conditions),
``names``/``places``/``pools``/``world`` (what exists),
``population`` (the truth), ``noise`` and ``sources`` (what each source holds),
``fhir``/``ctf``/``generate`` (writing), ``fingerprint`` (generator version and
digests of the drawn world and population, checked by ``delta``), ``delta``, ``bench``.
"""
