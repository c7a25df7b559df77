"""Finding a batch's submissions: files and folders, what is ignored, student ids from file names
(Canvas and Moodle downloads, an --id-pattern), rosters, and output folder names."""

from __future__ import annotations

import pytest

from grader.batch.discovery import discover, safe_folder
from grader.batch.roster import load_roster
from grader.errors import UsageError
from tests.batch.batch_helpers import make_class


def test_discovery_files_folders_and_what_is_ignored(tmp_path):
    subs = make_class(
        tmp_path / "subs",
        **{"ann.py": "x", "ben.ipynb": "{}", "cat__work.ipynb": "{}", "cat__README.md": "hi", "cat__.ipynb_checkpoints__work-checkpoint.ipynb": "{}",
           "dan__a.ipynb": "{}", "dan__b.ipynb": "{}", "eve__notes.txt": "", "notes.txt": "", "all.zip": "", ".hidden.py": ""},
    )
    found = discover([subs])
    by = {i.student: i for i in found.items}
    assert sorted(by) == ["ann", "ben", "cat", "dan", "eve"]
    assert by["ann"].graded_file == subs / "ann.py" and by["ann"].folder == "ann"
    assert by["cat"].graded_file == subs / "cat" / "work.ipynb"  # the checkpoint copy is not a candidate
    assert by["dan"].graded_file is None and by["dan"].problem_kind == "folder_several" and "a.ipynb, b.ipynb" in by["dan"].problem
    assert by["eve"].graded_file is None and by["eve"].problem_kind == "folder_empty"
    assert any("all.zip" in s and "unzip" in s for s in found.ignored) and any("notes.txt" in s for s in found.ignored)
    # several paths: each is a submission
    assert [i.student for i in discover([subs / "ann.py", subs / "cat"]).items] == ["ann", "cat"]


def test_folder_hash_follows_gradable_files_only(tmp_path):
    subs = make_class(tmp_path / "subs", **{"cat__work.ipynb": "{}", "cat__README.md": "v1"})
    first = discover([subs]).items[0].content_sha256
    (subs / "cat" / "README.md").write_text("v2")
    assert discover([subs]).items[0].content_sha256 == first
    (subs / "cat" / "work.ipynb").write_text('{"changed": 1}')
    assert discover([subs]).items[0].content_sha256 != first


def test_two_submissions_of_one_student_is_a_usage_error(tmp_path):
    subs = make_class(tmp_path / "subs", **{"ann.py": "x", "ann.ipynb": "{}"})
    with pytest.raises(UsageError, match="several submissions for one student"):
        discover([subs])


def test_safe_folder_names():
    assert safe_folder("alice") == "alice"
    assert safe_folder("张三") == "张三"
    assert safe_folder("a.b@uni.edu") == "a.b@uni.edu"
    for hostile in ("../etc", "a/b", "..", "exports", "x\x00y"):
        name = safe_folder(hostile)
        assert "/" not in name and not name.startswith(".") and name != "exports" and "\x00" not in name
    assert safe_folder("a/b") != safe_folder("a_b")  # no collision between an id and its sanitised form


def test_canvas_download_names_and_canvas_roster(tmp_path):
    subs = make_class(tmp_path / "subs", **{"smithjohn_12345_678_hw1.ipynb": "{}", "leeann_LATE_222_999_hw1-1.ipynb": "{}",
                                           "stranger_333_444_hw.py": "x"})
    roster = tmp_path / "canvas.csv"
    roster.write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section,Homework 1 (55)\n"
        "    Points Possible,,,,,5.00\n"
        '"Smith, John",12345,S001,jsmith,Sec A,\n'
        '"Lee, Ann",222,S002,alee,Sec A,\n'
        '"Nobody, No",999,S003,nobody,Sec B,\n',
        encoding="utf-8-sig",
    )
    found = discover([subs], load_roster(roster), "canvas")
    by = {i.student: i for i in found.items}
    assert set(by) == {"jsmith", "alee", "stranger"}
    assert by["jsmith"].info["canvas_id"] == "12345" and by["jsmith"].info["name"] == "Smith, John"
    assert by["alee"].info["sis_user_id"] == "S002"
    assert found.unmatched == ["stranger_333_444_hw.py"] and found.missing == ["nobody"]


def test_generic_roster_with_file_column_and_moodle_folders(tmp_path):
    subs = make_class(tmp_path / "subs", **{"Ann Lee_77_assignsubmission_file___nb.ipynb": "{}", "b7.py": "x"})
    roster = tmp_path / "roster.csv"
    roster.write_text("student;Full name;Email address;file\nann;Ann Lee;ann@x.edu;\nbo;Bo Chen;bo@x.edu;b7.py\n")
    found = discover([subs], load_roster(roster), "moodle")
    by = {i.student: i for i in found.items}
    assert set(by) == {"ann", "bo"} and by["ann"].info["email"] == "ann@x.edu" and by["bo"].graded_file.name == "b7.py"


def test_roster_id_column_falls_back_to_email(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("name,email\nAnn Lee,ann@x.edu\n")
    assert load_roster(path).rows == {"ann@x.edu": {"name": "Ann Lee", "email": "ann@x.edu", "student": "ann@x.edu"}}


@pytest.mark.parametrize(
    ("text", "problem"),
    [("who\nann\n", "no 'student' column"), ("student\nann\nann\n", "listed twice"), ("", "empty"), ("student,name\n,Ann\n", "no student id")],
)
def test_roster_problems(tmp_path, text, problem):
    path = tmp_path / "r.csv"
    path.write_text(text)
    with pytest.raises(UsageError, match=problem):
        load_roster(path)


def test_a_file_name_with_escape_sequences_gives_a_visible_student_id(tmp_path):
    """A student who names their file `bob\\x1b]52;c;...\\x07.ipynb` (a terminal escape: OSC 52 writes
    the instructor's clipboard) or with a bidirectional override gets an id whose escapes are
    visible text: nothing the batch prints or stores carries a control or format character."""
    for name in ("bob\x1b]52;c;ZXZpbA==\x07.ipynb", "eve\u202egnp.ipynb", "tab\tname.ipynb"):
        (tmp_path / name).write_text("{}", encoding="utf-8")
    found = discover([tmp_path])
    students = sorted(item.student for item in found.items)
    assert students == ["bob\\x1b]52;c;ZXZpbA==\\x07", "eve\\u202egnp", "tab\\tname"]
    assert all(c.isprintable() for s in students for c in s)
    assert all(c.isprintable() for item in found.items for c in item.folder)
