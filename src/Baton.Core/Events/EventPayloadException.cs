namespace Baton.Events;

/// <summary>
/// The event a wait took has a payload its type cannot read. Fails the run unless the workflow catches it; a resumed run
/// gets it again at the same wait. The event is taken (a retry of a run it failed waits for the next event of the name).
/// </summary>
public sealed class EventPayloadException : FormatException
{
    /// <summary>An exception for event <paramref name="eventName"/> at step <paramref name="stepKey"/>.</summary>
    public EventPayloadException(string eventName, string stepKey, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        EventName = eventName;
        StepKey = stepKey;
    }

    /// <summary>The event's name.</summary>
    public string EventName { get; }

    /// <summary>The wait's step key (<c>event:{name}</c>, then <c>#2</c>...).</summary>
    public string StepKey { get; }

    internal static string MessageFor(string eventName, Type type, string error) =>
        $"the payload of event '{eventName}' cannot be read as {type.Name}: {error}";
}
