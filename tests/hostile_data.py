"""Hostile inputs shared by the hardening tests and `bench/hostile_inputs.py`.

`hostile_recap(size)` is a recap page of about `size` characters built to hit every way a
backtracking regex or a quadratic loop could go wrong in `content.recap` and `content.lint`: long
runs of spaces between tokens (the title pattern, "You got … concepts", Final Answer / Quick Check
lines), many `->`, `=` and `[OK]` in one line, thousands of wrapped continuation lines and of
"Key Concepts:" lines. It is still a recap: it parses into cards, so every stage of parsing and lint
runs on it.

`poster_png()` is a real 6000x6000 PNG (36 MP, under the 40 MP limit) that compresses to about
120 kB: decoded, it takes 108 MB (finding 8 of issue 8: the bot must check it from its header).
"""

from __future__ import annotations

# A practice question whose solution lines are hostile; {pad} is a long run of spaces, {many_arrows},
# {many_equals} and {many_oks} long runs of those tokens.
_PRACTICE = """\
{number}. Which option is the right one?{pad}really?
easy
A. first
B. second
C. third
D. fourth
Solution
1. Step 1: Think{pad}[OK]
2. Final Answer:
the second{pad}->{pad}Optionx{many_arrows}
3. Final Answer:
second {many_arrows} Option B
4. Quick Check:
{many_equals}{pad}q
Hint: look{pad}[OK]x{many_oks}{pad}
Common Mistakes:
• guessing{pad}x
"""

_REVIEW = """\
beginner
What is{pad}transfer - learning{pad}Quick Recapx
Reusing what a model learned.
Click to reveal answer
Explain{pad}why{pad}.
Think{pad}about it.
You got{pad}x
You got /4 concepts.
"""


def hostile_recap(size: int) -> str:
    """A hostile recap page of about `size` characters (at least a few kB)."""
    part = max(100, size // 24)  # the runs of one question and the head take about 24 parts
    pad = " " * part
    fields = {"pad": pad, "many_arrows": " ->" * (part // 3), "many_equals": "= " * (part // 2),
              "many_oks": "[OK]" * (part // 4)}
    head = "Transfer learning\n" + _REVIEW.format(**fields)
    # Lines Python would join quadratically if it grew one string per line, and a prompt with as
    # many "Key Concepts:" lines (each compared with every other one by a naive filter).
    wraps = "\n".join(f"wrapped {i}" for i in range(part // 10))
    concepts = "\n".join(f"Key Concepts: c{i}" for i in range(part // 20))
    prompt = f"Describe it.\nIn your words.\n{concepts}\nYou got /4 concepts.\n"
    practice = "Practice\n" + _PRACTICE.format(number=1, **fields) + wraps + "\n"
    text = head + prompt + practice
    number = 2
    while len(text) < size:  # fill up with more hostile questions
        text += _PRACTICE.format(number=number, **fields)
        number += 1
    return text[:size]


def poster_png(side: int = 6000) -> bytes:
    """A real PNG of side x side pixels in three stripes: 36 MP at 6000, about 120 kB."""
    import io

    from PIL import Image

    image = Image.new("RGB", (side, side), (240, 240, 240))
    image.paste((30, 90, 200), (0, 0, side, side // 3))
    image.paste((200, 40, 40), (0, 2 * side // 3, side, side))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
