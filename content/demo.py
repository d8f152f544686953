"""Demo content for `make run`: three published posts, an open role, a segment, and a sent
newsletter campaign with opens and clicks so its report has something to show (idempotent)."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.models import User
from bloom.workflow import content_submit, content_workflow_state_get
from bloom.workflow_models import WorkflowState

from .models import (
    BlogPost,
    CampaignStatus,
    CareerApplication,
    ChatConversation,
    ContactSubmission,
    EmploymentType,
    JobPosting,
    NewsletterCampaign,
    PostStatus,
    SegmentKind,
    Subscriber,
    SubscriberSegment,
    SubscriberStatus,
)
from .services import (
    blog_post_approve,
    blog_post_publish,
    blog_post_save,
    blog_post_submit_for_review,
    campaign_save,
    campaign_send,
    career_application_submit,
    chat_conversation_start,
    chat_staff_reply,
    contact_submission_create,
)

POSTS = [
    {
        "title": "Baby blues or postpartum depression? How to tell the difference",
        "slug": "baby-blues-or-postpartum-depression",
        "tags": ["postpartum", "depression", "mood"],
        "excerpt": "Tearfulness in the first days after birth is common. Here is how to notice when it is something more, and what helps.",
        "meta_description": "Baby blues affect most new parents in the first two weeks. Learn the signs of postpartum depression, when to seek help and what treatment looks like.",
        "body": """
<p>In the first days after giving birth, many parents feel weepy, irritable or overwhelmed, sometimes all within the same hour. This is often called the <strong>baby blues</strong>. It is very common, it usually begins two to five days after birth, and it tends to fade on its own within about two weeks as hormones settle and sleep becomes a little more predictable.</p>
<h2>When it might be more than the blues</h2>
<p>Postpartum depression is different in how long it lasts and how much it gets in the way of daily life. It can start any time in the first year, and sometimes during pregnancy. Signs worth paying attention to include:</p>
<ul>
<li>low mood, emptiness or hopelessness on most days for more than two weeks;</li>
<li>losing interest in things you used to enjoy, including time with your baby;</li>
<li>feeling guilty, worthless or like a bad parent much of the time;</li>
<li>sleeping badly even when the baby sleeps, or wanting to sleep all the time;</li>
<li>anxiety, racing thoughts or panic;</li>
<li>thoughts of harming yourself, or feeling your family would be better off without you.</li>
</ul>
<h2>What helps</h2>
<p>Postpartum depression is treatable. Talking therapies such as cognitive behavioural therapy and interpersonal therapy work well for many parents, and medication can be part of care too, including options that are compatible with breastfeeding. Practical support matters as well: protected stretches of sleep, help with meals, and someone to talk to honestly.</p>
<p>You do not need to be sure it is depression before you reach out. If something feels off, tell your midwife, obstetrician, family doctor or a perinatal therapist. Asking for help early is a strength, not a failure.</p>
<h2>If you are in crisis</h2>
<p>If you have thoughts of harming yourself or your baby, call or text 988 in the US, or your local emergency number, now. You deserve immediate support.</p>
""",
    },
    {
        "title": "Anxiety in pregnancy: why it happens and what can help",
        "slug": "anxiety-in-pregnancy",
        "tags": ["pregnancy", "anxiety"],
        "excerpt": "Worry is a normal part of expecting a baby. When it takes over, there are gentle, effective ways to get relief.",
        "meta_description": "Perinatal anxiety is as common as depression but talked about less. Learn the signs of anxiety in pregnancy and practical, evidence-based ways to cope.",
        "body": """
<p>Some worry in pregnancy is natural: you are preparing for a huge change, and caring about your baby's wellbeing is part of becoming a parent. For some people, though, worry becomes constant, hard to switch off and exhausting. Perinatal anxiety is at least as common as perinatal depression, yet it is much less talked about.</p>
<h2>Signs to notice</h2>
<p>Anxiety can show up in the mind and in the body. You might notice repeated &ldquo;what if&rdquo; thoughts, needing frequent reassurance from scans or online searches, trouble sleeping because your mind will not slow down, a racing heart, tight chest or upset stomach, or avoiding places and conversations that set off your worries.</p>
<h2>Why it happens</h2>
<p>Pregnancy brings hormonal change, physical discomfort, disrupted sleep and real uncertainty. A previous loss, a difficult birth, fertility treatment, or a history of anxiety can all make worry louder. None of this means you are doing anything wrong.</p>
<h2>What can help</h2>
<ul>
<li><strong>Name the pattern.</strong> Writing worries down and noticing how often they repeat can loosen their grip.</li>
<li><strong>Slow breathing.</strong> Breathing out for longer than you breathe in calms the body's alarm system within minutes.</li>
<li><strong>Limit checking.</strong> Agree with yourself on a set time for reading or asking questions, rather than searching whenever a worry appears.</li>
<li><strong>Talk to someone trained.</strong> Cognitive behavioural therapy is effective for perinatal anxiety and is safe during pregnancy.</li>
</ul>
<p>Tell your midwife or doctor how you are feeling at your next appointment, or book a consultation with a perinatal therapist. Support during pregnancy also lowers the chance of struggling after birth.</p>
""",
    },
    {
        "title": "Partners matter too: supporting each other after a new baby",
        "slug": "partners-supporting-each-other",
        "tags": ["partners", "relationships", "postpartum"],
        "excerpt": "About one in ten fathers and non-birthing partners experience depression after a baby arrives. Here is how to look after each other.",
        "meta_description": "New parents of every role can struggle after a baby arrives. Practical ways partners can support each other and recognise when one of you needs help.",
        "body": """
<p>Most conversations about perinatal mental health focus on the person who gave birth, and for good reason. But partners, whether fathers, co-mothers or co-parents, go through enormous change too. Research suggests that around one in ten fathers experience depression during pregnancy or in the first year after birth, and rates are higher when the birthing parent is struggling.</p>
<h2>What it can look like in partners</h2>
<p>Partners may not describe themselves as sad. Instead they might feel irritable, withdraw into work, drink more, feel numb or shut out, or be unable to rest. These are signals worth taking seriously.</p>
<h2>Ways to support each other</h2>
<ul>
<li><strong>Share the nights in a plan.</strong> Taking turns for protected sleep, even a few hours each, protects both of your moods.</li>
<li><strong>Check in daily.</strong> Ten minutes asking &ldquo;how are you, really?&rdquo; without trying to fix anything builds closeness.</li>
<li><strong>Keep expectations kind.</strong> The early months are about getting through, not getting everything right.</li>
<li><strong>Let others help.</strong> Accept offers of meals, laundry or a walk with the baby.</li>
</ul>
<h2>Getting help together</h2>
<p>If either of you has felt low, anxious or unlike yourself for more than two weeks, talk to a doctor or a perinatal therapist. Couples sessions can also help you adjust to new roles. Seeking support is one of the most caring things you can do for your family.</p>
""",
    },
]

JOB = {
    "title": "Perinatal Psychotherapist (LMFT or LCSW)",
    "slug": "perinatal-psychotherapist",
    "location": "Hybrid · San Diego, CA",
    "employment_type": EmploymentType.PART_TIME,
    "summary": "Provide individual and couples therapy to parents from pregnancy through the first years after birth.",
    "description": """
<p>We are looking for a licensed therapist with experience in perinatal mental health to join our small clinical team.</p>
<h3>You will</h3>
<ul><li>offer individual and couples therapy, in person and by video;</li><li>co-facilitate our postpartum support workshops;</li><li>take part in weekly case consultation.</li></ul>
<h3>You have</h3>
<ul><li>an active California license (LMFT, LCSW or psychologist);</li><li>perinatal mental-health training (PMH-C welcome);</li><li>warmth, curiosity and respect for every kind of family.</li></ul>
""",
}

SEGMENT = {
    "name": "Engaged readers",
    "slug": "engaged-readers",
    "description": "Confirmed subscribers who opened or clicked often in the last 90 days.",
    "kind": SegmentKind.RULE,
    "rule": {"min_engagement_score": 40},
}


def seed(*, stdout) -> None:
    owner = User.objects.filter(is_superuser=True, is_active=True).order_by("date_joined").first()
    created = 0
    for data in POSTS:
        if BlogPost.all_objects.filter(slug=data["slug"]).exists():
            continue
        if owner is None:
            stdout.write("content: no superuser to author the demo posts; run the accounts demo first.")
            break
        post = blog_post_save(post=BlogPost(**data), editor=owner, note="Demo post.")
        blog_post_submit_for_review(post=post, user=owner)
        blog_post_approve(post=post, reviewer=owner, comment="Clinically reviewed.")
        blog_post_publish(post=post, user=owner)
        created += 1
    in_review = _seed_post_in_review()
    job, _ = JobPosting.all_objects.get_or_create(slug=JOB["slug"], defaults=JOB)
    messages = _seed_enquiries(job=job)
    SubscriberSegment.objects.get_or_create(slug=SEGMENT["slug"], defaults=SEGMENT)
    chats = _seed_chat(staff=owner)
    campaigns = _seed_campaign(owner=owner)
    published = BlogPost.objects.filter(status=PostStatus.PUBLISHED).count()
    stdout.write(
        f"content: {created} demo posts added ({published} published), {in_review} in the review queue "
        f"(editor@bloom.test wrote it; manager@bloom.test reviews), 1 job posting, {messages} enquiries added "
        f"(a contact message and a job application with a CV: closed to the content editor, the owner's reads "
        f"audited), 1 segment, "
        f"{chats} demo conversation, {campaigns} sent demo campaign."
    )


IN_REVIEW_POST = {
    "title": "Going back to work after parental leave",
    "slug": "going-back-to-work-after-parental-leave",
    "excerpt": "Mixed feelings are normal. A few ways to plan the first weeks back.",
    "body": (
        "<p>Relief, guilt, grief and excitement can all arrive on the same morning. None of them "
        "means you are doing it wrong.</p><h2>Plan the first week</h2><p>Ask for a shorter first "
        "week if you can, and keep one evening free of plans.</p>"
    ),
    "tags": ["work", "return", "feelings"],
}


DEMO_CONTACT = {
    "name": "Rosa Demo",
    "email": "rosa.demo@example.com",
    "subject": "Is this normal?",
    "message": (
        "I am 6 weeks postpartum and some days I feel very low and keep having thoughts I do not "
        "want. Could someone tell me how to start therapy with you?"
    ),
}
DEMO_APPLICANT = {"full_name": "Sam Applicant", "email": "sam.applicant@example.com"}
# A one-page PDF: enough for the CV download (stored encrypted, docs/privacy.md) to open.
DEMO_CV = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def _seed_enquiries(*, job: JobPosting) -> int:
    """A contact message that may hold health information and an application with a CV, as the
    public forms would store them: what the privacy walk needs (the content editor is refused
    both; the owner's reads are audited). Returns how many were added."""
    added = 0
    if not ContactSubmission.objects.filter(email=DEMO_CONTACT["email"]).exists():
        contact_submission_create(**DEMO_CONTACT)
        added += 1
    if not CareerApplication.objects.filter(email=DEMO_APPLICANT["email"]).exists():
        cv = ContentFile(DEMO_CV, name="sam-applicant-cv.pdf")
        career_application_submit(
            job_posting=job, cv=cv, cover_letter="I have worked with new parents for six years.", **DEMO_APPLICANT
        )
        added += 1
    return added


def _seed_post_in_review() -> int:
    """A draft by the demo content editor, submitted through the approval workflow: the practice
    manager finds it in the review queue (bloom/workflow.py). Returns 1 when it is in review."""
    editor = User.objects.filter(email="editor@bloom.test").first()
    if editor is None:
        return 0
    post = BlogPost.all_objects.filter(slug=IN_REVIEW_POST["slug"]).first()
    if post is None:
        post = blog_post_save(
            post=BlogPost(**IN_REVIEW_POST, author=getattr(editor, "admin_user", None)),
            editor=editor,
            note="Demo draft.",
        )
    if content_workflow_state_get(obj=post).state == WorkflowState.DRAFT:
        content_submit(obj=post, user=editor, comment="Ready for a clinical read, please.")
    return int(content_workflow_state_get(obj=post).state == WorkflowState.IN_REVIEW)


DEMO_SUBSCRIBERS = ["Maya", "Priya", "Jo", "Ana", "Lena", "Ruth", "Sam", "", "Kim", "Noor"]
DEMO_CAMPAIGN = {
    "subject": 'Sleep, support and small wins, {{ first_name|default:"friend" }}',
    "preheader": "Three ideas for the weeks after birth.",
    "body_html": (
        '<h1>Hello {{ first_name|default:"there" }}</h1>'
        "<p>This month: how to protect a stretch of sleep, and when the blues are something more.</p>"
        '<p><a href="{{ site_url }}/blog/baby-blues-or-postpartum-depression/">Read the article</a></p>'
    ),
}


def _seed_campaign(*, owner) -> int:
    """Ten confirmed demo subscribers and one campaign sent to them a week ago, with opens and
    clicks spread over its first days (the outbox rows marked sent, so nothing goes out)."""
    from notifications.models import EmailCampaignMetric, EmailQueue, EmailStatus

    if owner is None or NewsletterCampaign.objects.filter(subject=DEMO_CAMPAIGN["subject"]).exists():
        return 0
    week_ago = timezone.now() - timedelta(days=7)
    for index, name in enumerate(DEMO_SUBSCRIBERS):
        # Signed up one a day over the three weeks before the campaign, confirmed within the hour.
        signed_up = week_ago - timedelta(days=21 - 2 * index)
        subscriber, created = Subscriber.objects.get_or_create(
            email=f"reader{index + 1}@bloom.test",
            defaults={
                "first_name": name,
                "status": SubscriberStatus.CONFIRMED,
                "confirmed_at": signed_up + timedelta(minutes=40),
                "source": "demo",
            },
        )
        if created:
            Subscriber.objects.filter(pk=subscriber.pk).update(created_at=signed_up)
    campaign = campaign_save(campaign=NewsletterCampaign(**DEMO_CAMPAIGN), user=owner)
    NewsletterCampaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENDING, send_started_at=week_ago)
    campaign_send(campaign=campaign)
    NewsletterCampaign.objects.filter(pk=campaign.pk).update(sent_at=week_ago)
    EmailQueue.objects.filter(campaign_id=campaign.pk).update(status=EmailStatus.SENT, sent_at=week_ago)
    for index, metric in enumerate(
        EmailCampaignMetric.objects.filter(campaign_id=campaign.pk).order_by("recipient_email")
    ):
        opened = week_ago + timedelta(days=index % 3, hours=2) if index < 7 else None
        clicked = opened + timedelta(minutes=5) if opened and index % 2 == 0 else None
        EmailCampaignMetric.objects.filter(pk=metric.pk).update(sent_at=week_ago, opened_at=opened, clicked_at=clicked)
    return 1


DEMO_CHAT_QUESTION = "Hi, I have started one of the courses. Is it all right to do the lessons out of order?"
DEMO_CHAT_REPLY = (
    "Hello Maya, yes, of course. Start with whatever feels most useful this week; each lesson stands "
    "on its own. We are glad you are here."
)


def _seed_chat(*, staff) -> int:
    """One conversation for member@bloom.test with a staff reply, so Messages is not empty."""
    member = User.objects.filter(email="member@bloom.test").first()
    if member is None or staff is None or ChatConversation.objects.filter(user=member).exists():
        return 0
    weekday_morning = timezone.now().astimezone(ZoneInfo("America/Los_Angeles")).replace(hour=10, minute=0)
    while weekday_morning.weekday() > 4:
        weekday_morning -= timedelta(days=1)
    started = chat_conversation_start(
        body=DEMO_CHAT_QUESTION, user=member, subject="Course lessons", at=weekday_morning
    )
    chat_staff_reply(conversation=started["conversation"], body=DEMO_CHAT_REPLY, staff_user=staff)
    return 1
