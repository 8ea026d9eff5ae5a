"""An IPython profile in the submission: the sandboxed kernel's home is the submission's copy, so
``.ipython/profile_default/startup/`` ran at kernel start, before any cell (it could patch what the
notebook's tests use). The kernel gets a fresh IPython folder: an added cell shows that nothing ran.
"""
STARTUP = "STARTUP_RAN = 'the submission startup file ran'\n"
SHOWN = "print(globals().get('STARTUP_RAN', 'no startup file of the submission ran'))"


def change(notebook, folder):
    """Edit the submitted notebook (its JSON as a dict); ``folder`` is the submission folder."""
    startup = folder / ".ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-patch.py").write_text(STARTUP, encoding="utf-8")
    notebook["cells"].append({"cell_type": "code", "id": "startup-probe", "metadata": {}, "execution_count": None,
                              "outputs": [], "source": SHOWN})
