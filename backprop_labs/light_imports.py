"""Keep jsonschema from building an IRI parser that nothing here uses.

nbformat (and with it nbclient and nbgrader) imports jsonschema, and jsonschema imports the optional
package ``rfc3987_syntax`` when it is installed (jupyter-events asks for it), which builds a Lark
grammar at import: about 0.8 s of CPU in every process that reads a notebook (each ``backprop-labs``
command, the grading coordinator and each of its workers). Only the ``iri`` and ``iri-reference``
formats of JSON schemas use it, and no notebook schema does. Marked absent before nbformat is first
imported, the package is never loaded and jsonschema leaves those two format checks out.
"""
import sys

IRI_PARSER = "rfc3987_syntax"


def skip_iri_parser():
    """Mark :data:`IRI_PARSER` absent in this process, unless it is loaded already (then nothing changes)."""
    sys.modules.setdefault(IRI_PARSER, None)
