"""bench/student_install_size.py: sizes from RECORD files, and what leaving out a requirement saves."""
import pytest

from bench.student_install_size import main


def make_distribution(site, name, size, requires=()):
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (site / name).mkdir()
    (site / name / "code.py").write_bytes(b"x" * size)
    lines = [f"Name: {name}", "Version: 1.0", *(f"Requires-Dist: {r}" for r in requires)]
    (info / "METADATA").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (info / "RECORD").write_text(f"{name}/code.py,,\n{info.name}/METADATA,,\n", encoding="utf-8")


def test_shared_requirements_are_not_counted_as_savings(tmp_path, capsys):
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    mib = 2 ** 20
    make_distribution(site, "wheel_a", 3 * mib, ["Shared_Lib>=1", "only_a", "unasked; extra == 'docs'"])
    make_distribution(site, "shared_lib", 5 * mib)
    make_distribution(site, "only_a", 2 * mib)
    make_distribution(site, "unasked", 7 * mib)
    make_distribution(site, "front_end", 11 * mib, ["shared-lib"])
    assert main([str(tmp_path / "venv"), "wheel-a", "front-end"]) == 0
    sizes, savings = capsys.readouterr().out.split("\n\n")
    size_of = {line.split()[0]: line.split()[-1] for line in sizes.splitlines()[1:]}
    assert size_of["shared-lib"] == "5.0" and size_of["unasked"] == "7.0"
    assert "21.0 MiB" in savings.splitlines()[0]  # 3 + 5 + 2 + 11: 'unasked' is an extra nobody asked for
    saved = {line.split()[0]: line.split()[-1] for line in savings.splitlines()[1:]}
    assert saved == {"wheel-a": "5.0",    # itself and only-a; shared-lib stays for front-end
                     "shared-lib": "0.0", "only-a": "2.0", "front-end": "11.0"}

def test_a_folder_that_is_not_a_venv_is_refused_by_name(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit:
        main([str(tmp_path)])
    assert exit.value.code == 2
    assert f"{tmp_path}: no lib/python3*/site-packages" in capsys.readouterr().err
