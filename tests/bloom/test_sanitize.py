"""bloom.sanitize: one nh3 sanitiser, one named allow-list per kind of staff-written HTML."""

import pytest

from bloom.sanitize import BLOG, EMAIL, LESSON, POLICIES, html_to_text, sanitize_html

ATTACK = (
    '<p onclick="steal()">Hi <a href="javascript:alert(1)">link</a></p><script>alert(1)</script>'
    '<style>p{}</style><iframe src="https://evil.example"></iframe><img src=x onerror="alert(2)">'
)


def test_links_get_rel_noopener():
    assert 'rel="noopener noreferrer nofollow"' in sanitize_html('<a href="https://example.org">x</a>', BLOG)


@pytest.mark.parametrize("policy", [LESSON, BLOG, EMAIL], ids=lambda p: p.name)
def test_every_policy_drops_scripts_handlers_and_javascript_urls(policy):
    assert sanitize_html(ATTACK, policy) == (f'<p>Hi <a rel="{policy.link_rel}">link</a></p><img src="x">')


@pytest.mark.parametrize("policy", [LESSON, BLOG, EMAIL], ids=lambda p: p.name)
def test_empty_input_is_the_empty_string(policy):
    assert sanitize_html(None, policy) == ""
    assert sanitize_html("", policy) == ""


def test_policies_are_found_by_name():
    assert POLICIES == {"lesson": LESSON, "blog": BLOG, "email": EMAIL}


def test_lesson_keeps_classes_and_slide_tags_but_no_nofollow():
    html = (
        '<aside class="tip" lang="en"><mark>Breathe</mark> <h5>Step</h5><a href="https://bloom.example">x</a></aside>'
    )
    assert sanitize_html(html, LESSON) == (
        '<aside class="tip" lang="en"><mark>Breathe</mark> <h5>Step</h5>'
        '<a href="https://bloom.example" rel="noopener noreferrer">x</a></aside>'
    )
    assert (
        sanitize_html('<a href="tel:+15550100">call</a><s>old</s>', LESSON)
        == '<a rel="noopener noreferrer">call</a>old'
    )


def test_blog_keeps_headings_h2_to_h4_only_and_tel_links():
    html = '<h1>Title</h1><h2>A</h2><h3>B</h3><h4>C</h4><h5>D</h5><p class="x">t</p><a href="tel:+15550100">call</a>'
    assert sanitize_html(html, BLOG) == (
        'Title<h2>A</h2><h3>B</h3><h4>C</h4>D<p>t</p><a href="tel:+15550100" rel="noopener noreferrer nofollow">call</a>'
    )


def test_email_keeps_headings_h1_to_h3():
    html = "<h1>Hello</h1><h2>News</h2><h3>More</h3><p>Body</p>"
    assert sanitize_html(html, EMAIL) == html
    assert EMAIL.tags - BLOG.tags == {"h1"}


def test_html_to_text_keeps_block_breaks_and_drops_script_text():
    assert html_to_text("<h2>Sleep</h2><p>Rest &amp; eat.</p><script>x()</script>") == "Sleep\nRest & eat."
    assert html_to_text(None) == ""
