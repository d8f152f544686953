import pytest
from django.urls import reverse

from content import services
from content.models import BlogPost
from tests.factories.content import BlogPostFactory

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"


def test_render_sanitises_rows_written_around_the_service(client):
    post = BlogPostFactory(
        published=True, body='<p>Safe</p><script>alert("x")</script><iframe src="https://evil"></iframe>'
    )
    response = client.get(reverse("content:blog_detail", args=[post.slug]), HTTP_USER_AGENT=BROWSER)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<p>Safe</p>" in html
    assert 'alert("x")' not in html and "evil" not in html


def test_detail_counts_a_human_view_but_not_bots_or_staff(client, editor):
    post = BlogPostFactory(published=True)
    url = reverse("content:blog_detail", args=[post.slug])
    client.get(url, HTTP_USER_AGENT=BROWSER)
    client.get(url, HTTP_USER_AGENT=BROWSER)
    client.get(url, HTTP_USER_AGENT="Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")
    client.get(url)  # no user agent at all
    client.force_login(editor)
    client.get(url, HTTP_USER_AGENT=BROWSER)
    post.refresh_from_db()
    assert post.view_count == 2


def test_drafts_and_archived_posts_are_not_public_but_staff_can_preview(client, editor):
    draft = BlogPostFactory()
    archived = BlogPostFactory(published=True)
    services.blog_post_archive(post=archived, user=editor.__class__.objects.create_superuser("s@example.com", "x"))
    assert client.get(reverse("content:blog_detail", args=[draft.slug]), HTTP_USER_AGENT=BROWSER).status_code == 404
    assert client.get(reverse("content:blog_detail", args=[archived.slug]), HTTP_USER_AGENT=BROWSER).status_code == 404
    client.force_login(editor)
    response = client.get(reverse("content:blog_detail", args=[draft.slug]), HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 200
    assert b"Staff preview" in response.content
    draft.refresh_from_db()
    assert draft.view_count == 0


def test_blog_list_shows_only_published_posts_newest_first(client):
    BlogPostFactory(title="A draft")
    older = BlogPostFactory(published=True, title="Older post")
    newer = BlogPostFactory(published=True, title="Newer post")
    BlogPost.objects.filter(pk=older.pk).update(published_at=newer.published_at.replace(year=2025))
    response = client.get(reverse("content:blog_list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "A draft" not in html
    assert html.index("Newer post") < html.index("Older post")


def test_blog_list_empty_state(client):
    response = client.get(reverse("content:blog_list"))
    assert b"No posts yet" in response.content


def test_blog_list_query_count_does_not_grow_with_posts(client, django_assert_num_queries):
    BlogPostFactory.create_batch(3, published=True)
    with django_assert_num_queries(2):  # count for the paginator + one page of posts with authors
        client.get(reverse("content:blog_list"))
    BlogPostFactory.create_batch(12, published=True)
    with django_assert_num_queries(2):
        response = client.get(reverse("content:blog_list") + "?page=2")
    assert response.context["page"].number == 2
    assert len(response.context["posts"]) == 6


def test_blog_list_out_of_range_page_shows_last_page(client):
    BlogPostFactory.create_batch(2, published=True)
    response = client.get(reverse("content:blog_list") + "?page=99")
    assert response.status_code == 200 and response.context["page"].number == 1


def test_member_dashboard_shows_latest_posts(client):
    from tests.factories.accounts import UserFactory

    post = BlogPostFactory(published=True, title="Finding your village")
    client.force_login(UserFactory())
    response = client.get(reverse("accounts:dashboard"))
    assert response.status_code == 200
    assert "From the blog" in response.content.decode() and post.title in response.content.decode()
