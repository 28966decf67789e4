"""Reading input files into events and dead letters (the file boundary of the embedded runner).

Accepted, optionally gzip-compressed (``.gz``):

* JSON lines (``*.jsonl``): one event per line, any of the three types, each with its
  ``type`` discriminator (``layoff_notice``, ``unemployment``, ``vacancies``);
* Statistics Finland's long CSV from PxWeb: ``month,area,measure,value`` (table 12r5) or
  ``month,area,occupation,measure,value`` (table 12ti), with measure codes such as
  ``TYOTTOMATLOPUSSA``, ``TYOVOIMATK`` and ``AVPAIKATLOPUSSA``. A CSV has no publication date:
  each figure is taken as published on the 25th of the following month, as the employment
  service statistics are.

A directory means every such file in it, in name order; CSV files in a directory that are not in
the long format (such as a ground-truth ``truth.csv`` beside the data) are skipped.

Order. The pipeline needs its input in availability order
(:func:`tutka.streams.ordering.ordering_key`). :func:`scan_order` reads a file once, cheaply (JSON
or CSV parsing only, no validation), and says how it is ordered, so that the replay can stream it
instead of holding everything in memory:

* ``sorted``: already in availability order (what ``tutka simulate`` writes);
* ``by_day``: the availability days never go back, but the order within a day differs (Statistics
  Finland's tables: month by month, then area and measure code); sorted one day at a time;
* ``unsorted``: anything else; sorted externally, in chunks on disk
  (:mod:`~tutka.inputs.external_sort`).

Decoding. Figures of one series share everything but period, value, publication date and
revision. :class:`Decoder` validates the first figure of each series fully and checks only those
four fields of the later ones (exactly as the models would), which makes reading a large file
several times faster; anything unusual takes the full validation path and its dead letters.

Modules: :mod:`~tutka.inputs.formats` (suffixes, columns, opening, the CSV conventions),
:mod:`~tutka.inputs.records` (a record), :mod:`~tutka.inputs.readers` (files into records),
:mod:`~tutka.inputs.decoding` (the fast decoder), :mod:`~tutka.inputs.ordering` (the order
scan); for long tables, :mod:`~tutka.inputs.columnar` (batches read by pyarrow),
:mod:`~tutka.inputs.blocks` (a batch's figures as columns) and
:mod:`~tutka.inputs.external_sort` (ordering on disk). Everything is imported from here.
"""

from tutka.inputs.decoding import MAX_TEMPLATES, Decoder, Figure, SeriesShape, parse_json
from tutka.inputs.formats import ALL, DATA_COLUMNS, PUBLICATION_DAY, SUFFIXES, Event, InputError
from tutka.inputs.ordering import FileOrder, OrderMode, RawKey, scan_order
from tutka.inputs.readers import input_files, read_records
from tutka.inputs.records import Record

__all__ = [
    "ALL",
    "DATA_COLUMNS",
    "MAX_TEMPLATES",
    "PUBLICATION_DAY",
    "SUFFIXES",
    "Decoder",
    "Event",
    "Figure",
    "FileOrder",
    "InputError",
    "OrderMode",
    "RawKey",
    "Record",
    "SeriesShape",
    "input_files",
    "parse_json",
    "read_records",
    "scan_order",
]
