from django.urls import path

from . import chat_views, page_views, views

app_name = "content"

urlpatterns = [
    path("about/", page_views.about, name="about"),
    path("blog/", views.blog_list, name="blog_list"),
    path("blog/<slug:slug>/", views.blog_detail, name="blog_detail"),
    path("newsletter/", views.newsletter_signup, name="newsletter_signup"),
    path("newsletter/thanks/", views.newsletter_thanks, name="newsletter_thanks"),
    path("newsletter/confirm/<str:token>/", views.newsletter_confirm, name="newsletter_confirm"),
    path("analytics/event", views.analytics_event, name="analytics_event"),
    path("contact/", views.contact, name="contact"),
    path("contact/thanks/", views.contact_thanks, name="contact_thanks"),
    path("careers/", views.career_list, name="career_list"),
    path("careers/<slug:slug>/", views.career_detail, name="career_detail"),
    path("careers/<slug:slug>/applied/", views.career_applied, name="career_applied"),
    path("messages/", chat_views.messages_home, name="messages_home"),
    path("messages/<uuid:conversation_id>/", chat_views.messages_thread, name="messages_thread"),
    path(
        "messages/<uuid:conversation_id>/updates/", chat_views.messages_thread_updates, name="messages_thread_updates"
    ),
    path("messages/v/<str:token>/", chat_views.messages_visitor_thread, name="messages_visitor_thread"),
    path(
        "messages/v/<str:token>/updates/",
        chat_views.messages_visitor_thread_updates,
        name="messages_visitor_thread_updates",
    ),
]
