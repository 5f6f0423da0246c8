"""Notification pages: the list with mark-read buttons, and the header's unread badge
(polled by htmx)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.views.decorators.http import require_POST

from stylevault.core.pages import domain_errors_as_http
from stylevault.core.paging import MAX_ID, next_link
from stylevault.notifications import selectors, services

PER_PAGE = 30
# htmx stops polling on this status: an anonymous visitor has no badge to refresh.
STOP_POLLING = 286


class MarkReadForm(forms.Form):
    id = forms.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    all = forms.BooleanField(required=False)


@login_required
@domain_errors_as_http
def notification_list(request):
    page = selectors.notifications_page(
        user=request.user, cursor=request.GET.get("cursor"), limit=PER_PAGE
    )
    language = get_language()
    rows = [
        {
            "notification": n,
            "message": selectors.render_message(n, language),
            "url": selectors.target_url(n),
        }
        for n in page.items
    ]
    context = {
        "rows": rows,
        "more": next_link(request, page),
        "unread": selectors.unread_count(request.user),
    }
    return render(request, "notifications/list.html", context)


def badge(request):
    if not request.user.is_authenticated:
        return HttpResponse(status=STOP_POLLING)
    unread = selectors.unread_count(request.user)
    return render(request, "notifications/_badge.html", {"unread": unread})


@login_required
@require_POST
@domain_errors_as_http
def mark_read(request):
    form = MarkReadForm(request.POST)
    if form.is_valid():
        one = form.cleaned_data["id"]
        services.mark_read(
            user=request.user, ids=[one] if one else None, all=form.cleaned_data["all"]
        )
    return redirect("notifications:list")
