from django.conf import settings


def site(request):
    return {"SITE_NAME": "Bloom Psychology", "SITE_URL": settings.SITE_URL}
