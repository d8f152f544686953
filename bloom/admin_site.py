"""The back office's site: the admin home's cards and the app list grouped by the job staff do.

Django lists models by app, alphabetically, in developers' words (about 120 entries, 41 of them
dj-stripe's). Bloom's index and sidebar instead show eight sections, in this order, each model
under the name staff use for it: one table, `SECTIONS`, names every model by
"app_label.model_name" (strings: `bloom` imports no app). A model nobody mapped is listed under
"Not yet sorted" at the end (tests/bloom/test_admin_home_sections.py fails on it), so a new model
is never lost. Only the grouping and the words change: permissions, URLs and
each app's own page (/admin/<app>/) are Django's.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.text import slugify

from bloom.admin_home import admin_home_list

STRIPE_MIRROR = "Stripe mirror (read-only)"  # dj-stripe's tables, after System (billing/admin_djstripe.py)
UNSORTED = "Not yet sorted"

# Section -> "app_label.model_name" -> the name staff use, in the order they are listed.
SECTIONS: dict[str, dict[str, str]] = {
    "Members": {
        "accounts.user": "Accounts (members and staff)",
        "accounts.userprofile": "Member profiles",
        "accounts.userpreferences": "Member preferences",
        "accounts.consentrecord": "Consent records",
        "accounts.datarequest": "Data requests (export or deletion)",
        "accounts.memberpause": "Pauses from email",
        "accounts.userachievement": "Achievements",
        "account.emailaddress": "Sign-in email addresses",
        "content.contactsubmission": "Contact form messages",
        "content.chatconversation": "Chat conversations",
        "content.chatmessage": "Chat messages",
        "notifications.usernotification": "Notifications shown to members",
    },
    "Care": {
        "accounts.riskalert": "Risk alerts (needs attention)",
        "appointments.appointmentdata": "Sessions",
        "appointments.sessionnote": "Session notes",
        "appointments.sessionnoteversion": "Session note history",
        "accounts.screeningresponse": "Screening results",
        "accounts.memberscreeningpoint": "Screenings due, per member",
        "accounts.screeningschedulepoint": "Screening schedule",
        "accounts.wellnessentry": "Wellness check-ins",
        "accounts.careassignment": "Suggestions to clients",
        "appointments.therapistprofile": "Clinicians",
        "appointments.therapistavailability": "Clinicians' usual hours",
        "appointments.bookinglink": "Booking links",
        "appointments.bookingpolicyacceptance": "Booking policies accepted",
        "appointments.appointmentreminderlog": "Session reminders sent",
    },
    "Learning": {
        "courses.course": "Courses",
        "courses.coursemodule": "Course modules",
        "courses.courselesson": "Lessons",
        "courses.courseresource": "Course downloads",
        "courses.coursecontentversion": "Course content history",
        "courses.courseenrollment": "Enrolments",
        "courses.courseprogress": "Progress through a course",
        "courses.lessoncompletiondetail": "Lessons completed",
        "courses.coursemilestone": "Milestones",
        "courses.coursecertificate": "Certificates",
        "courses.courseactivitylog": "Course activity",
        "courses.courseuser": "Learners",
        "courses.courseoverview": "Courses at a glance (report)",
        "courses.usercoursestats": "Learners at a glance (report)",
    },
    "Events": {
        "workshops.workshop": "Workshops",
        "workshops.workshopregistration": "Registrations",
        "workshops.workshopwaitlistentry": "Waitlist",
        "workshops.workshopattendance": "Attendance",
        "workshops.workshopfeedback": "Feedback",
        "workshops.workshopseries": "Workshop series",
        "workshops.userworkshopseriesprogress": "Progress through a series",
        "workshops.workshopresource": "Workshop handouts and recordings",
        "workshops.workshopconnectionevent": "Zoom join and leave times",
    },
    "Money": {
        "billing.paymentintent": "Payments",
        "billing.refundrequest": "Refunds",
        "appointments.appointmentpayment": "Session fees",
        "billing.userpaymentsummary": "Payments per member",
        "billing.userpaymentmethod": "Cards on file",
        "billing.stripecheck": "Checks with Stripe",
        "billing.billingcustomer": "Stripe customers",
        "appointments.goodfaithestimate": "Good faith estimates",
        "courses.coursediscountcode": "Course discount codes",
    },
    "Marketing": {
        "content.newslettercampaign": "Newsletters",
        "content.subscriber": "Newsletter subscribers",
        "content.subscribersegment": "Subscriber segments",
        "content.subscribersegmentmember": "Subscribers in segments",
        "notifications.emailsequence": "Email sequences",
        "notifications.sequenceemail": "Emails in sequences",
        "notifications.emailsequenceenrollment": "Members in sequences",
        "notifications.emailautomationlog": "Sequence history",
        "notifications.emailcampaignmetric": "Email opens and clicks",
        "notifications.emailsuppression": "Do-not-email list",
        "content.analyticsevent": "Site analytics events",
    },
    "Site": {
        "content.blogpost": "Blog posts",
        "content.blogpostversion": "Blog post history",
        "content.contentapproval": "Content approvals",
        "bloom.contentworkflowstate": "Review queue (approval and publishing)",
        "bloom.contentworkflowevent": "Approval history",
        "bloom.contentapprovalpolicy": "Two-person rule per content type",
        "notifications.emailtemplate": "Email templates",
        "content.jobposting": "Job openings",
        "content.careerapplication": "Job applications",
    },
    "System": {
        "accounts.adminuser": "Staff members and their roles",
        "accounts.staffinvitation": "Staff invitations",
        "accounts.adminrole": "Staff roles",
        "accounts.adminrolepermission": "Staff role permissions",
        "auth.group": "Permission groups (one per staff role)",
        "accounts.adminactivitylog": "Audit log of staff actions",
        "bloom.auditentry": "Audit trail (every change and sensitive read)",
        "accounts.adminsession": "Staff sign-ins",
        "mfa.authenticator": "Two-step sign-in devices",
        "accounts.securityevent": "Security events",
        "notifications.emailqueue": "Email outbox",
        "billing.stripewebhookevent": "Stripe webhook events",
        "appointments.calendlywebhookevent": "Calendly webhook events",
        "workshops.zoomwebhookevent": "Zoom webhook events",
        "accounts.calendarfeed": "Calendar feeds",
        "django_celery_beat.periodictask": "Scheduled tasks",
        "django_celery_beat.crontabschedule": "Scheduled task times (crontab)",
        "django_celery_beat.intervalschedule": "Scheduled task intervals",
        "django_celery_beat.clockedschedule": "Scheduled task one-off times",
        "django_celery_beat.solarschedule": "Scheduled task solar times",
    },
}
_PLACES = {
    model: (section, name, position)
    for section, models in SECTIONS.items()
    for position, (model, name) in enumerate(models.items())
}


def section_of(app_label: str, model_name: str, verbose_name_plural: str) -> tuple[str, str, int]:
    """Where a model is listed: (section, staff name, position). dj-stripe's all go to the
    mirror section under their own names; an unmapped model to "Not yet sorted"."""
    if app_label == "djstripe":
        return STRIPE_MIRROR, verbose_name_plural, 0
    return _PLACES.get(f"{app_label}.{model_name}", (UNSORTED, verbose_name_plural, 0))


class BloomAdminSite(admin.AdminSite):
    site_header = "Bloom back office"
    site_title = "Bloom back office"
    index_title = "What needs you today"

    def get_app_list(self, request, app_label=None):
        if app_label is not None:
            return super().get_app_list(request, app_label)  # an app's own page stays Django's
        sections: dict[str, list[tuple[int, str, dict]]] = {}
        for app in self._build_app_dict(request).values():
            for model in app["models"]:
                opts = model["model"]._meta
                section, name, position = section_of(opts.app_label, opts.model_name, model["name"])
                sections.setdefault(section, []).append((position, name, {**model, "name": name}))
        index = reverse("admin:index")
        return [
            {
                "name": section,
                "app_label": slugify(section),
                "app_url": f"{index}#{slugify(section)}",
                "has_module_perms": True,
                "models": [model for _, _, model in sorted(sections[section], key=lambda row: row[:2])],
            }
            for section in (*SECTIONS, STRIPE_MIRROR, UNSORTED)
            if section in sections
        ]

    def index(self, request, extra_context=None):
        extra_context = {"home_cards": admin_home_list(request=request), **(extra_context or {})}
        return super().index(request, extra_context)
