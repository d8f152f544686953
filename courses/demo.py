"""Demo courses for `make run`: a free course and a paid one, with slides and a worksheet; the demo
member has finished the free one and holds its certificate. Idempotent."""

from __future__ import annotations

from decimal import Decimal

from django.core.files.base import ContentFile

from accounts.models import CareAssignment, User
from accounts.services import care_assignment_create

from .models import (
    Course,
    CourseCertificate,
    CourseDiscountCode,
    CourseLesson,
    CourseModule,
    CourseResource,
    PublishStatus,
)
from .services import course_publish, lesson_save
from .services.enrollment import enrollment_start
from .services.progress import course_progress_update

CRISIS = (
    '<aside class="note"><p><strong>If you are in crisis</strong>, or have thoughts of harming yourself or your '
    "baby, call or text 988 (US) or your local emergency number now. You deserve help today.</p></aside>"
)

FREE_COURSE = {
    "slug": "postpartum-mood-whats-normal",
    "title": "Postpartum mood: what's normal and when to reach out",
    "subtitle": "A short, free guide to the emotional side of the first months with a baby.",
    "description": (
        "Most new parents feel a storm of emotions after birth. This short course helps you tell the "
        "common 'baby blues' from postpartum depression and anxiety, and shows you where to find help."
    ),
    "price": Decimal("0.00"),
    "modules": [
        (
            "The first weeks",
            None,
            [
                (
                    "Baby blues or something more?",
                    8,
                    True,
                    [
                        "<h2>You are not alone</h2><p>Up to 80% of new parents have the <strong>baby blues</strong>: "
                        "tearfulness, irritability and feeling overwhelmed in the first two weeks after birth.</p>"
                        "<p>The blues usually fade on their own as sleep, hormones and routines settle.</p>",
                        "<h2>When it may be more</h2><ul><li>Low mood or worry that lasts longer than two weeks</li>"
                        "<li>Feeling numb, hopeless or unable to enjoy anything</li><li>Racing, intrusive thoughts "
                        "that frighten you</li><li>Not being able to sleep even when the baby sleeps</li></ul>"
                        "<p>About 1 in 7 mothers, and many partners, develop postpartum depression or anxiety. "
                        "It is common, it is treatable, and it is not your fault.</p>",
                        "<h2>A gentle check-in</h2><p>Over the last week, how often have you felt down, anxious or "
                        "unable to cope? Notice your answer without judging it.</p>" + CRISIS,
                    ],
                ),
                (
                    "Sleep, food and the basics",
                    10,
                    False,
                    [
                        "<h2>Protect one stretch of sleep</h2><p>Broken sleep affects mood more than almost "
                        "anything else. If you can, share night feeds so each adult gets one 4 to 5 hour stretch.</p>",
                        "<h2>Small, regular meals</h2><p>Keep easy snacks within reach of where you feed the baby: "
                        "nuts, fruit, yoghurt, toast. Low blood sugar can feel like anxiety.</p>",
                        "<h2>Ask for specific help</h2><p>People often want to help but do not know how. Try: "
                        "'Could you bring dinner on Thursday?' or 'Could you hold the baby while I shower?'</p>",
                    ],
                ),
            ],
        ),
        (
            "Getting support",
            None,
            [
                (
                    "Talking to your care team",
                    7,
                    False,
                    [
                        "<h2>What to say</h2><p>You can simply say: <em>'I haven't felt like myself since the baby "
                        "came, and I'd like to talk about it.'</em> Your midwife, OB or family doctor hears this "
                        "often.</p>",
                        "<h2>What happens next</h2><p>They may ask a few questions (often the Edinburgh Postnatal "
                        "Depression Scale) and talk through options: therapy, support groups, and sometimes "
                        "medication that is compatible with breastfeeding.</p>" + CRISIS,
                    ],
                ),
            ],
        ),
    ],
}

PAID_COURSE = {
    "slug": "calm-in-pregnancy-and-after-birth",
    "title": "Calm in pregnancy and after birth",
    "subtitle": "Practical tools from perinatal psychologists for managing anxiety, one small step at a time.",
    "description": (
        "Worry is a normal part of becoming a parent, but for many people it grows loud enough to get in "
        "the way of sleep, bonding and enjoying this time. Over three weeks you will learn how anxiety works "
        "in pregnancy and after birth, practise skills that calm the body and the mind, and build a plan for "
        "the harder days. Each lesson takes about ten minutes."
    ),
    "price": Decimal("79.00"),
    "instructor": "Dr. Jana Rundle, perinatal psychologist",
    "modules": [
        (
            "Week 1: Understanding anxiety",
            None,
            [
                (
                    "Why worry grows in pregnancy and after birth",
                    10,
                    True,
                    [
                        "<h2>Your brain is doing its job</h2><p>In pregnancy and after birth, the brain becomes more "
                        "alert to possible danger. It is how we keep babies safe. Sometimes that alarm is set "
                        "too sensitive.</p>",
                        "<h2>Common perinatal worries</h2><ul><li>Something is wrong with the baby</li><li>I'm not "
                        "a good enough parent</li><li>Something bad will happen if I'm not watching</li></ul>"
                        "<p>Having these thoughts does not mean they are true, or that you want them.</p>",
                        "<h2>When to get help</h2><p>If worry takes up hours of your day, stops you sleeping, or "
                        "comes with panic attacks, talk to your care team. Perinatal anxiety responds well to "
                        "treatment.</p>" + CRISIS,
                    ],
                ),
                (
                    "The anxiety cycle",
                    9,
                    False,
                    [
                        "<h2>Thoughts, body, actions</h2><p>An anxious thought ('What if the baby stops breathing?') "
                        "sets off the body (fast heart, tight chest), which leads to an action (checking again "
                        "and again).</p>",
                        "<h2>Why checking keeps it going</h2><p>Checking brings relief for a moment, so the brain "
                        "learns that the danger was real. Next time the urge is stronger.</p>",
                        "<h2>Try this</h2><p>This week, notice one cycle a day. Write down the thought, what your "
                        "body did, and what you did next. Just noticing is the first skill.</p>",
                    ],
                ),
            ],
        ),
        (
            "Week 2: Tools for calm",
            7,
            [
                (
                    "Slow breathing you can do while feeding",
                    8,
                    False,
                    [
                        "<h2>Breathe out longer than in</h2><p>Breathe in gently through your nose for a count of "
                        "four, and out through your mouth for a count of six. A longer out-breath tells your body "
                        "it is safe.</p>",
                        "<h2>Practise when calm</h2><p>Two minutes, three times a day, while feeding or rocking the "
                        "baby. Skills practised when calm are there for you when things are hard.</p>",
                    ],
                ),
                (
                    "Unhooking from worried thoughts",
                    11,
                    False,
                    [
                        "<h2>Name it</h2><p>Say to yourself: <em>'I'm having the thought that…'</em> This small step "
                        "puts a little space between you and the thought.</p>",
                        "<h2>Worry time</h2><p>Set aside 15 minutes a day to write worries down. When a worry comes "
                        "at other times, note it and tell it: 'Not now, at worry time.'</p>",
                        "<h2>Be kind to yourself</h2><p>Speak to yourself as you would to a friend with a new baby. "
                        "You are learning, and learning is messy.</p>",
                    ],
                ),
            ],
        ),
        (
            "Week 3: Support and your plan",
            14,
            [
                (
                    "Building your calm plan",
                    12,
                    False,
                    [
                        "<h2>Your early warning signs</h2><p>What tells you anxiety is rising? Poor sleep, snapping "
                        "at people, checking more? Write down three signs.</p>",
                        "<h2>Your steps</h2><ol><li>One thing that calms my body</li><li>One person I can text</li>"
                        "<li>One professional I can call</li></ol><p>Use the worksheet in this course to fill in "
                        "your plan.</p>" + CRISIS,
                    ],
                ),
            ],
        ),
    ],
}

WORKSHEET = """My calm plan (Bloom Psychology)

1. My early warning signs that anxiety is rising:
   - ...
   - ...
   - ...

2. One thing that calms my body (for example, breathing out longer than in):
   ...

3. One person I can text when things are hard:
   ...

4. One professional I can call (midwife, OB, family doctor, therapist):
   ...

If you are in crisis or have thoughts of harming yourself or your baby,
call or text 988 (US) or your local emergency number.
"""


def _course(spec: dict, stdout) -> Course:
    course, created = Course.all_objects.get_or_create(
        slug=spec["slug"],
        defaults={
            "title": spec["title"],
            "subtitle": spec["subtitle"],
            "description": spec["description"],
            "price": spec["price"],
            "instructor_name": spec.get("instructor", "Bloom Psychology"),
        },
    )
    for m_pos, (m_title, drip, lessons) in enumerate(spec["modules"], start=1):
        module, _ = CourseModule.all_objects.get_or_create(
            course=course, position=m_pos, defaults={"title": m_title, "drip_days": drip}
        )
        for l_pos, (l_title, minutes, preview, slides) in enumerate(lessons, start=1):
            if CourseLesson.all_objects.filter(module=module, position=l_pos).exists():
                continue
            lesson = CourseLesson(
                module=module,
                position=l_pos,
                title=l_title,
                duration_minutes=minutes,
                is_preview=preview,
                slides=slides,
                status=PublishStatus.PUBLISHED,
            )
            lesson_save(lesson=lesson, change_summary="Demo content")
    course_publish(course=course)
    stdout.write(f"courses: {'created' if created else 'kept'} {course.title}")
    return course


def seed(*, stdout) -> None:
    free = _course(FREE_COURSE, stdout)
    paid = _course(PAID_COURSE, stdout)
    if not CourseResource.all_objects.filter(course=paid, title="My calm plan worksheet").exists():
        resource = CourseResource(course=paid, title="My calm plan worksheet", description="Fill in and keep handy.")
        resource.lesson = CourseLesson.objects.filter(module__course=paid, title="Building your calm plan").first()
        resource.file.save("my-calm-plan.txt", ContentFile(WORKSHEET.encode()), save=True)
    CourseDiscountCode.objects.get_or_create(
        code="WELCOME20",
        defaults={"discount_type": "percentage", "discount_value": Decimal("20.00"), "course": paid, "max_uses": 100},
    )
    _suggestion_for_the_demo_member(paid, stdout)
    _finished_course_for_the_demo_member(free, stdout)


def _finished_course_for_the_demo_member(course: Course, stdout) -> None:
    """Maya finished the free course, so her certificate, a completed course and real time spent show.

    Goes through the product's own paths (enrollment_start, course_progress_update), which issue
    the certificate at 100%. Once only: nothing is done when she already holds the certificate.
    """
    member = User.objects.filter(email="member@bloom.test").first()
    if member is None or CourseCertificate.objects.filter(user=member, course=course).exists():
        return
    enrollment_start(member=member, course=course, success_url="/", cancel_url="/")
    lessons = CourseLesson.objects.filter(
        module__course=course, status=PublishStatus.PUBLISHED, module__archived_at__isnull=True
    ).select_related("module")
    for lesson in lessons.order_by("module__position", "position"):
        course_progress_update(
            member=member,
            lesson=lesson,
            completed=True,
            time_spent_seconds=(lesson.duration_minutes or 5) * 60,
            slides_seen=list(range(len(lesson.slides or []))),
        )
    stdout.write("  demo: the demo member finished the free course and holds its certificate")


def _suggestion_for_the_demo_member(course: Course, stdout) -> None:
    """The demo clinician suggests a lesson to Maya, so "From your therapist" shows on her dashboard."""
    member = User.objects.filter(email="member@bloom.test").first()
    clinician = User.objects.filter(email="clinician@bloom.test", is_staff=True).first()
    lesson = CourseLesson.objects.filter(module__course=course, title="Building your calm plan").first()
    if member is None or clinician is None or lesson is None or CareAssignment.objects.filter(user=member).exists():
        return
    care_assignment_create(
        clinician=clinician,
        member=member,
        kind="lesson",
        object_id=lesson.pk,
        note="Have a look at this before our next session; we'll make your plan together.",
    )
    stdout.write("  demo: the clinician suggested a lesson to the demo member")
