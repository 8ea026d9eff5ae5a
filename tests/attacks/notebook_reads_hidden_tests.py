"""A cell that reads every source the kernel ran (``In``, ``_ih`` and IPython's history) and prints the
hidden test cell's in three encodings the plain-text scrubber cannot recognise: base64, HTML entities and
zero-width spaces between the characters. The hidden tests never reach the kernel, so what it prints is
the cell as released (its title line), without a line of the tests.
"""
LEAK = r'''
import base64
ip = get_ipython()
sources = list(In) + list(_ih)
try:
    sources += [entry[2] for entry in ip.history_manager.get_range(raw=True)]
except Exception as error:
    print("history unavailable:", error)
for source in dict.fromkeys(source for source in sources if "Test 2.2d" in source and "LEAK-B64" not in source):
    print("LEAK-B64:" + base64.b64encode(source.encode()).decode())
    print("LEAK-HTML:" + "".join(f"&#{ord(character)};" for character in source))
    print("LEAK-ZW:" + "\u200b".join(source))
'''


def change(notebook, folder):
    """Edit the submitted notebook (its JSON as a dict); ``folder`` is the submission folder."""
    notebook["cells"].append({"cell_type": "code", "id": "hidden-tests-probe", "metadata": {},
                              "execution_count": None, "outputs": [], "source": LEAK})
