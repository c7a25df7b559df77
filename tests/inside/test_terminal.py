from grader.inside.terminal import Screen, render


def test_carriage_returns_overwrite_the_line():
    bar = "".join(f"\r{i}/1875 [{'=' * (i // 100)}]" for i in range(1, 1876))
    assert render("Epoch 1/5\n" + bar + "\n") == "Epoch 1/5\n1875/1875 [==================]"


def test_ansi_codes_vanish_and_backspaces_move_back():
    assert render("\x1b[1m\x1b[32mok\x1b[0m\n") == "ok"
    assert render("abc\b\bXY\n") == "aXY"


def test_screen_keeps_bounded_lines():
    screen = Screen(max_lines=3)
    screen.write("".join(f"line {i}\n" for i in range(10)))
    assert screen.text() == "line 7\nline 8\nline 9" and screen.dropped_lines == 7


def test_unfinished_line_is_shown():
    assert render("a\nb") == "a\nb"
